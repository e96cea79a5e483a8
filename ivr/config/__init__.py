"""What the hotline is configured with: settings, the office calendar, the clock, logging."""
