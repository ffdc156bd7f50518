//! The plugin's JSON Schemas: what it accepts and what it promises to return.

pub const INPUT_SCHEMA: &str = r##"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "A Google Ads account export",
  "type": "object",
  "required": ["account", "campaigns"],
  "properties": {
    "account": {
      "type": "object",
      "required": ["id", "name"],
      "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "currency": {"type": "string", "minLength": 3, "maxLength": 3}
      }
    },
    "date_range": {
      "type": "object",
      "required": ["start", "end"],
      "properties": {"start": {"type": "string"}, "end": {"type": "string"}}
    },
    "campaigns": {
      "type": "array",
      "items": {
        "type": "object",
        "required": ["name", "daily_budget", "bidding_strategy", "ad_groups"],
        "properties": {
          "name": {"type": "string", "minLength": 1},
          "status": {"type": "string"},
          "daily_budget": {"type": "number", "minimum": 0},
          "bidding_strategy": {"type": "string"},
          "target_cpa": {"type": "number", "minimum": 0},
          "search_impression_share": {"type": "number", "minimum": 0, "maximum": 1},
          "lost_is_budget": {"type": "number", "minimum": 0, "maximum": 1},
          "lost_is_rank": {"type": "number", "minimum": 0, "maximum": 1},
          "ad_groups": {
            "type": "array",
            "items": {
              "type": "object",
              "required": ["name", "keywords"],
              "properties": {
                "name": {"type": "string", "minLength": 1},
                "keywords": {"type": "array", "items": {"$ref": "#/$defs/keyword"}},
                "search_terms": {"type": "array", "items": {"$ref": "#/$defs/search_term"}}
              }
            }
          }
        }
      }
    }
  },
  "$defs": {
    "keyword": {
      "type": "object",
      "required": ["text", "match_type", "clicks", "impressions", "cost", "conversions"],
      "properties": {
        "text": {"type": "string", "minLength": 1},
        "match_type": {"enum": ["BROAD", "PHRASE", "EXACT"]},
        "status": {"type": "string"},
        "max_cpc": {"type": "number", "minimum": 0},
        "clicks": {"type": "integer", "minimum": 0},
        "impressions": {"type": "integer", "minimum": 0},
        "cost": {"type": "number", "minimum": 0},
        "conversions": {"type": "number", "minimum": 0},
        "quality_score": {"type": "integer", "minimum": 1, "maximum": 10}
      }
    },
    "search_term": {
      "type": "object",
      "required": ["term", "clicks", "impressions", "cost", "conversions"],
      "properties": {
        "term": {"type": "string", "minLength": 1},
        "clicks": {"type": "integer", "minimum": 0},
        "impressions": {"type": "integer", "minimum": 0},
        "cost": {"type": "number", "minimum": 0},
        "conversions": {"type": "number", "minimum": 0}
      }
    }
  }
}"##;

pub const OUTPUT_SCHEMA: &str = r##"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Audit findings, most urgent first",
  "type": "object",
  "required": ["account", "summary", "findings"],
  "properties": {
    "account": {"type": "object"},
    "date_range": {"type": "object"},
    "summary": {
      "type": "object",
      "required": ["campaigns", "keywords", "search_terms", "cost", "conversions", "critical", "high", "monitor"]
    },
    "findings": {
      "type": "array",
      "items": {
        "type": "object",
        "required": ["id", "severity", "group", "kind", "title", "evidence", "campaign", "subject", "cost", "options"],
        "properties": {
          "id": {"type": "string"},
          "severity": {"enum": ["critical", "high", "monitor"]},
          "group": {"enum": ["Critical", "High priority", "Monitor"]},
          "kind": {"type": "string"},
          "title": {"type": "string"},
          "evidence": {"type": "string"},
          "campaign": {"type": "string"},
          "ad_group": {"type": "string"},
          "subject": {"type": "string"},
          "cost": {"type": "number"},
          "options": {"type": "array", "minItems": 1, "maxItems": 3, "items": {"$ref": "#/$defs/choice"}}
        }
      }
    }
  },
  "$defs": {
    "choice": {
      "type": "object",
      "required": ["action", "changes"],
      "additionalProperties": false,
      "properties": {
        "action": {"type": "string", "minLength": 1},
        "changes": {"type": "array", "items": {"$ref": "#/$defs/change"}},
        "affects": {"type": "array", "items": {"type": "string"}, "description": "what the changes touch: campaign:NAME, with /ad group:NAME and /keyword:TEXT inside it"}
      }
    },
    "change": {
      "description": "One row of a Google Ads Editor CSV import",
      "type": "object",
      "required": ["Campaign"],
      "additionalProperties": false,
      "properties": {
        "Campaign": {"type": "string", "minLength": 1},
        "Campaign Status": {"enum": ["Enabled", "Paused", "Removed"]},
        "Budget": {"type": "string", "title": "Budget", "description": "a daily amount, digits with at most two decimals (40.00)", "pattern": "^[0-9]+(\\.[0-9]{1,2})?$"},
        "Bid Strategy Type": {"type": "string"},
        "Ad Group": {"type": "string"},
        "Keyword": {"type": "string"},
        "Criterion Type": {"type": "string"},
        "Max CPC": {"type": "string", "title": "Max CPC", "description": "the most to pay for a click, digits with at most two decimals (1.25)", "pattern": "^[0-9]+(\\.[0-9]{1,2})?$"},
        "Status": {"enum": ["Enabled", "Paused", "Removed"]}
      }
    }
  }
}"##;
