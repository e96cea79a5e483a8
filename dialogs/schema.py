"""JSON schema of a dialog script (draft 2020-12). Unknown keys are rejected everywhere."""

from __future__ import annotations

from typing import Any

KINDS = ["intent", "yesno", "choice", "digits", "nik", "phone", "date", "ticket", "plate", "free"]
SLOT_KINDS = {"digits", "nik", "phone", "date", "ticket", "plate", "free"}
ID = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}
DTMF_KEY = {"type": "string", "pattern": "^[0-9*#]$"}
TEXT = {"type": "string", "minLength": 1}

PROMPT: dict[str, Any] = {
    "oneOf": [
        TEXT,
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["text"],
            "properties": {"text": TEXT, "file": TEXT},
        },
    ]
}
PROMPTS = {"oneOf": [PROMPT, {"type": "array", "minItems": 1, "items": PROMPT}]}
TARGET = ID
EXAMPLES = {"type": "array", "minItems": 1, "items": TEXT}
# one topic of requests the hotline does not handle: its examples, or a label staff read
# on the analytics pages with the examples (no oneOf: a schema error names the wrong part)
OUT_OF_SCOPE_TOPIC: dict[str, Any] = {
    "type": ["array", "object"],
    "minItems": 1,
    "items": TEXT,
    "additionalProperties": False,
    "required": ["examples"],
    # say: where to go instead, one sentence (the loader checks it further)
    "properties": {"label": TEXT, "examples": EXAMPLES, "say": {
        # a PROMPT without oneOf, for the same reason: text, or {text, file}
        "type": ["string", "object"], "minLength": 1, "additionalProperties": False,
        "required": ["text"], "properties": {"text": TEXT, "file": TEXT}}},
}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "name", "start", "states"],
    "properties": {
        "version": {"const": 1},
        "name": TEXT,
        "description": {"type": "string"},
        "language": {"type": "string"},
        "start": TARGET,
        "entry_menu": TARGET,
        "variables": {"type": "array", "items": ID},
        "settings": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 60},
                "retries": {"type": "integer", "minimum": 0, "maximum": 5},
                "barge_in": {"type": "boolean"},
                "confidence": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "accept": {"type": "number", "minimum": 0, "maximum": 1},
                        "confirm": {"type": "number", "minimum": 0, "maximum": 1},
                    },
                },
                "prompts": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "no_input": PROMPTS,
                        "no_match": PROMPTS,
                        # a request the hotline does not handle (the script's out_of_scope wins)
                        "out_of_scope": PROMPT,
                        # around a topic's own `say` (a referral): before it, with 112; after it
                        "out_of_scope_head": PROMPT,
                        "out_of_scope_tail": PROMPT,
                        "invalid": PROMPTS,
                        "keypad_menu": PROMPT,
                        "keypad_digits": PROMPT,
                        "confirm_intent": PROMPT,
                        "confirm_denied": PROMPT,
                        # a garbled cancel in a flow, asked back ("Matal" for "batal")
                        "confirm_cancel": PROMPT,
                        "cancel_kept": PROMPT,
                        "confirm_emergency": PROMPT,
                        "confirm_intent_emergency": PROMPT,
                        "no_input_after_answer": PROMPT,
                        "offer_answer": PROMPT,
                        "agent": PROMPT,
                    },
                },
            },
        },
        "handoff": {
            "type": "object",
            "additionalProperties": False,
            "required": ["queue", "on_failed"],
            "properties": {"queue": ID, "on_failed": TARGET},
        },
        "yesno": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "yes": {"type": "array", "minItems": 1, "items": TEXT},
                "no": {"type": "array", "minItems": 1, "items": TEXT},
                "dtmf": {
                    "type": "object",
                    "additionalProperties": False,
                    "patternProperties": {"^[0-9*#]$": {"enum": ["yes", "no"]}},
                },
            },
        },
        "intents": {
            "type": "object",
            "additionalProperties": False,
            "patternProperties": {
                "^[a-z][a-z0-9_]*$": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["label", "examples"],
                    "properties": {
                        "label": TEXT,
                        "examples": {"type": "array", "minItems": 1, "items": TEXT},
                        "keywords": {"type": "array", "items": TEXT},
                        "not_keywords": {"type": "array", "items": TEXT},
                    },
                }
            },
        },
        # a list of examples (topic "lainnya"), or topic -> examples / {label, examples}
        "out_of_scope": {
            "type": ["array", "object"],
            "items": TEXT,
            "propertyNames": ID,
            "additionalProperties": OUT_OF_SCOPE_TOPIC,
        },
        "globals": {
            "type": "object",
            "additionalProperties": False,
            "patternProperties": {
                "^[a-z][a-z0-9_]*$": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "goto": TARGET,
                        "action": {"enum": ["repeat", "agent"]},
                        "confirm": {"type": "boolean"},
                        "dtmf": DTMF_KEY,
                    },
                    "oneOf": [{"required": ["goto"]}, {"required": ["action"]}],
                }
            },
        },
        "flows": {
            "type": "object",
            "additionalProperties": False,
            "patternProperties": {"^[a-z][a-z0-9_]*$": {"$ref": "#/$defs/flow"}},
        },
        "states": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "patternProperties": {"^[a-z][a-z0-9_]*$": {"$ref": "#/$defs/state"}},
        },
    },
    "$defs": {
        "flow": {
            "type": "object",
            "additionalProperties": False,
            "required": ["states"],
            "properties": {
                "description": {"type": "string"},
                "states": {"type": "array", "minItems": 1, "items": TARGET},
                # the caller leaves the task ("batal", "kembali ke menu utama"): said, then goto
                "cancel": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["words", "goto"],
                    "properties": {
                        "words": {"type": "array", "minItems": 1, "items": TEXT},
                        "say": PROMPTS,
                        "goto": TARGET,
                    },
                },
                "on_hangup": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["kind", "variables", "when_any"],
                    "properties": {
                        "kind": ID,
                        "variables": {"type": "array", "minItems": 1, "items": ID},
                        "when_any": {"type": "array", "minItems": 1, "items": ID},
                    },
                },
            },
        },
        "state": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "say": PROMPTS,
                "set": {
                    "type": "object",
                    "additionalProperties": False,
                    "patternProperties": {"^[a-z][a-z0-9_]*$": {"type": "string"}},
                },
                "listen": {"$ref": "#/$defs/listen"},
                "no_input": PROMPTS,
                "no_match": PROMPTS,
                "invalid": PROMPTS,
                "keypad": PROMPT,
                "queue": ID,
                "on": {
                    "type": "object",
                    "additionalProperties": False,
                    "patternProperties": {"^[a-z][a-z0-9_]*$": TARGET},
                },
                # follow-up questions answered in place ("berapa biayanya?" after the KTP
                # answer): intent -> what to say; the caller stays in the state
                "answers": {
                    "type": "object",
                    "additionalProperties": False,
                    "patternProperties": {"^[a-z][a-z0-9_]*$": PROMPTS},
                },
                # a choice the caller's request already named ("saya mau lapor jalan rusak"):
                # said instead of the question, and the option taken (see dialogs/engine.py)
                "carried": PROMPTS,
                "next": TARGET,
                "transfer": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"queue": ID, "reason": TEXT, "on_failed": TARGET},
                },
                "create_ticket": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["kind", "next"],
                    "properties": {
                        "kind": ID,
                        "fields": {
                            "type": "object",
                            "additionalProperties": False,
                            "patternProperties": {"^[a-z][a-z0-9_]*$": {"type": "string"}},
                        },
                        "next": TARGET,
                    },
                },
                "lookup_ticket": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["ticket", "found", "not_found"],
                    "properties": {"ticket": TEXT, "found": TARGET, "not_found": TARGET},
                },
                "branch": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["variable", "default"],
                    "properties": {
                        "variable": ID,
                        "cases": {
                            "type": "object",
                            "additionalProperties": TARGET,
                        },
                        "empty": TARGET,
                        "default": TARGET,
                    },
                },
                "end": TEXT,
                "menu": {"type": "boolean"},
            },
        },
        "listen": {
            "type": "object",
            "additionalProperties": False,
            "required": ["kind"],
            "properties": {
                "kind": {"enum": KINDS},
                "intents": {"type": "array", "minItems": 1, "items": ID},
                "options": {
                    "type": "object",
                    "additionalProperties": False,
                    "patternProperties": {
                        "^[a-z][a-z0-9_]*$": {"type": "array", "minItems": 1, "items": TEXT}
                    },
                },
                "labels": {
                    "type": "object",
                    "additionalProperties": False,
                    "patternProperties": {"^[a-z][a-z0-9_]*$": TEXT},
                },
                "slot": ID,
                "length": {"type": "integer", "minimum": 1, "maximum": 32},
                "min_length": {"type": "integer", "minimum": 1, "maximum": 32},
                "max_length": {"type": "integer", "minimum": 1, "maximum": 32},
                "dtmf": {
                    "type": "object",
                    "additionalProperties": False,
                    "patternProperties": {"^[0-9*#]$": ID},
                },
                "timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 60},
                "retries": {"type": "integer", "minimum": 0, "maximum": 5},
                "barge_in": {"type": "boolean"},
                "confirm": {"type": "boolean"},
            },
        },
    },
}
