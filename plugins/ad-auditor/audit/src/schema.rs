//! The plugin's JSON Schemas: what it accepts and what it promises to return.

pub const INPUT_SCHEMA: &str = r##"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "A Google Ads account export",
  "description": "Fields the auditor does not know are refused, so that none is silently ignored",
  "type": "object",
  "required": ["account", "campaigns"],
  "additionalProperties": false,
  "properties": {
    "account": {
      "type": "object",
      "required": ["id", "name"],
      "additionalProperties": false,
      "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "currency": {"type": "string", "minLength": 3, "maxLength": 3},
        "target_cpa": {"type": "number", "exclusiveMinimum": 0, "description": "what a conversion may cost"},
        "target_roas": {"type": "number", "exclusiveMinimum": 0, "description": "conversion value per unit of spend, 4.0 = 400%"},
        "conversion_tracking": {"enum": ["active", "no_recent_conversions", "unverified", "none"]}
      }
    },
    "date_range": {
      "type": "object",
      "required": ["start", "end"],
      "additionalProperties": false,
      "properties": {"start": {"type": "string"}, "end": {"type": "string"}}
    },
    "campaigns": {
      "type": "array",
      "items": {
        "type": "object",
        "required": ["name", "daily_budget", "bidding_strategy", "ad_groups"],
        "additionalProperties": false,
        "properties": {
          "name": {"type": "string", "minLength": 1},
          "status": {"type": "string"},
          "daily_budget": {"type": "number", "minimum": 0},
          "bidding_strategy": {"type": "string"},
          "target_cpa": {"type": "number", "exclusiveMinimum": 0},
          "search_impression_share": {"type": "number", "minimum": 0, "maximum": 1},
          "lost_is_budget": {"type": "number", "minimum": 0, "maximum": 1},
          "lost_is_rank": {"type": "number", "minimum": 0, "maximum": 1},
          "networks": {
            "type": "object",
            "additionalProperties": false,
            "properties": {"search_partners": {"type": "boolean"}, "display": {"type": "boolean"}}
          },
          "ad_groups": {
            "type": "array",
            "items": {
              "type": "object",
              "required": ["name", "keywords"],
              "additionalProperties": false,
              "properties": {
                "name": {"type": "string", "minLength": 1},
                "keywords": {"type": "array", "items": {"$ref": "#/$defs/keyword"}},
                "search_terms": {"type": "array", "items": {"$ref": "#/$defs/search_term"}}
              }
            }
          }
        }
      }
    },
    "search_terms": {
      "description": "The search terms report, each term with the campaign and ad group it matched in",
      "type": "array",
      "items": {
        "type": "object",
        "required": ["campaign", "ad_group", "term", "clicks", "impressions", "cost", "conversions"],
        "additionalProperties": false,
        "properties": {
          "campaign": {"type": "string"},
          "ad_group": {"type": "string"},
          "term": {"type": "string", "minLength": 1},
          "clicks": {"type": "integer", "minimum": 0},
          "impressions": {"type": "integer", "minimum": 0},
          "cost": {"type": "number", "minimum": 0},
          "conversions": {"type": "number", "minimum": 0},
          "conversion_value": {"type": "number", "minimum": 0}
        }
      }
    }
  },
  "$defs": {
    "keyword": {
      "type": "object",
      "required": ["text", "match_type", "clicks", "impressions", "cost", "conversions"],
      "additionalProperties": false,
      "properties": {
        "text": {"type": "string", "minLength": 1},
        "match_type": {"enum": ["BROAD", "PHRASE", "EXACT"]},
        "status": {"type": "string"},
        "max_cpc": {"type": "number", "minimum": 0},
        "clicks": {"type": "integer", "minimum": 0},
        "impressions": {"type": "integer", "minimum": 0},
        "cost": {"type": "number", "minimum": 0},
        "conversions": {"type": "number", "minimum": 0},
        "conversion_value": {"type": "number", "minimum": 0},
        "quality_score": {"type": "integer", "minimum": 1, "maximum": 10}
      }
    },
    "search_term": {
      "type": "object",
      "required": ["term", "clicks", "impressions", "cost", "conversions"],
      "additionalProperties": false,
      "properties": {
        "term": {"type": "string", "minLength": 1},
        "clicks": {"type": "integer", "minimum": 0},
        "impressions": {"type": "integer", "minimum": 0},
        "cost": {"type": "number", "minimum": 0},
        "conversions": {"type": "number", "minimum": 0},
        "conversion_value": {"type": "number", "minimum": 0}
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
        "required": ["id", "severity", "group", "kind", "title", "evidence", "campaign", "subject", "cost", "at_risk", "reason", "severity_reason", "options"],
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
          "at_risk": {"type": "number"},
          "reason": {"type": "string"},
          "severity_reason": {"type": "string"},
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
        "affects": {"type": "array", "items": {"type": "string"}, "description": "what the changes touch: campaign:NAME, with /ad group:NAME and /keyword:TEXT inside it"},
        "note": {"type": "string", "title": "Note", "description": "what to know before choosing it"}
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
        "Status": {"enum": ["Enabled", "Paused", "Removed"]},
        "Networks": {"type": "string", "title": "Networks", "description": "Google search, optionally with ;Search Partners and ;Display Network"},
        "before": {"type": "object", "additionalProperties": {"type": "string"}, "description": "the changed columns' values before, by column"}
      }
    }
  }
}"##;
