"""One router module per area of the web app; :func:`ivr.web.app.create_app` includes them."""
