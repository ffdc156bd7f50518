//! The JSON Schemas the plugin declares in `describe`. The host checks inputs and
//! outputs against them, so they are the plugin's public promise.

/// `{"leads": [...]}`: extra fields on a lead are allowed and echoed back.
pub const INPUT_SCHEMA: &str = r##"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Leads to score",
  "type": "object",
  "required": ["leads"],
  "properties": {
    "leads": {
      "type": "array",
      "maxItems": 100000,
      "items": {
        "type": "object",
        "required": ["company", "contact"],
        "properties": {
          "id": {"type": "string"},
          "company": {"type": "string", "minLength": 1},
          "contact": {"type": "string", "minLength": 1},
          "email": {"type": "string"},
          "title": {"type": "string"},
          "industry": {"type": "string"},
          "employees": {"type": "integer", "minimum": 0},
          "website_visits": {"type": "integer", "minimum": 0, "description": "visits in the last 7 days"},
          "pricing_page_views": {"type": "integer", "minimum": 0, "description": "views in the last 7 days"},
          "email_opens": {"type": "integer", "minimum": 0, "description": "opens in the last 30 days"},
          "email_replies": {"type": "integer", "minimum": 0, "description": "replies in the last 30 days"},
          "last_reply_days_ago": {"type": "integer", "minimum": 0},
          "days_since_last_contact": {"type": "integer", "minimum": 0},
          "deal_stage": {"enum": ["new", "contacted", "engaged", "demo", "proposal", "negotiation", "closed_won", "closed_lost"]},
          "notes": {"type": "string"}
        }
      }
    }
  }
}"##;

/// Every lead ranked with its score and reason, and the one to act on now.
pub const OUTPUT_SCHEMA: &str = r##"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Scored leads",
  "type": "object",
  "required": ["leads", "top", "summary"],
  "$defs": {
    "scored": {
      "type": "object",
      "required": ["rank", "score", "reason", "actionable", "signals", "lead"],
      "properties": {
        "rank": {"type": "integer", "minimum": 1},
        "score": {"type": "integer", "minimum": 0, "maximum": 100},
        "reason": {"type": "string", "minLength": 1},
        "actionable": {"type": "boolean"},
        "signals": {
          "type": "array",
          "items": {
            "type": "object",
            "required": ["signal", "points", "detail"],
            "properties": {
              "signal": {"type": "string"},
              "points": {"type": "integer"},
              "detail": {"type": "string"}
            }
          }
        },
        "lead": {"type": "object"}
      }
    }
  },
  "properties": {
    "leads": {"type": "array", "items": {"$ref": "#/$defs/scored"}},
    "top": {"oneOf": [{"$ref": "#/$defs/scored"}, {"type": "null"}]},
    "summary": {
      "type": "object",
      "required": ["scored", "actionable", "hot"],
      "properties": {
        "scored": {"type": "integer", "minimum": 0},
        "actionable": {"type": "integer", "minimum": 0},
        "hot": {"type": "integer", "minimum": 0}
      }
    }
  }
}"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_schemas_are_json() {
        for schema in [INPUT_SCHEMA, OUTPUT_SCHEMA] {
            let value: serde_json::Value = serde_json::from_str(schema).unwrap();
            assert_eq!(value["type"], "object");
        }
    }
}
