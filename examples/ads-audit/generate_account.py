"""Writes ../ads-account.json: a month of a Google Ads account, deterministic.

Healthy filler keywords around a handful of planted problems that a specialist would
flag (the ads-audit tests assert them), judged against the account's $25 target cost
per conversion (Brand's own target is $15):
- "hiking boots" (broad, manual CPC) spent $642.80 with no conversions;
- search terms "free hiking boots", "hiking boots jobs", "hiking boot repair near me"
  and, in the search terms report, "used camping gear" that should be negatives;
- "Brand - Northwind" converts at about $6 and loses 38% of impressions to budget;
- "Competitors" spent about $930 with no conversions;
- "camping tent" converts, at four times the target;
- "waterproof trail shoes" has a quality score of 3 on 5,400 impressions;
- "Generic - Trail Running" loses 41% of impressions to rank at a good CPA;
- "Remarketing - Tents" also shows on the Display Network;
- "Rain Gear" runs on search partners at about twice the target;
- a paused campaign full of waste, which is not flagged.

    python3 examples/ads-audit/generate_account.py
"""
import json
import pathlib
import random

rng = random.Random(20261101)


def keyword(text, match, clicks, cpc, conv, qs, impressions=None, max_cpc=None):
    cost = round(clicks * cpc, 2)
    return {
        "text": text,
        "match_type": match,
        "status": "ENABLED",
        "max_cpc": max_cpc if max_cpc is not None else round(cpc * 1.3, 2),
        "clicks": clicks,
        "impressions": impressions if impressions is not None else int(clicks / rng.uniform(0.03, 0.08)),
        "cost": cost,
        "conversions": conv,
        "quality_score": qs,
    }


def healthy(text, match, cpc_range=(0.6, 1.6)):
    """A keyword that converts, or has spent too little to judge."""
    clicks = rng.randint(8, 60)
    cpc = round(rng.uniform(*cpc_range), 2)
    cost = clicks * cpc
    conv = max(1, round(cost / rng.uniform(14, 26)))
    if cost < 20 and rng.random() < 0.5:
        conv = 0
    return keyword(text, match, clicks, cpc, conv, rng.randint(5, 9))


def term(text, clicks, cpc, conv):
    return {
        "term": text,
        "clicks": clicks,
        "impressions": clicks * rng.randint(12, 30),
        "cost": round(clicks * cpc, 2),
        "conversions": conv,
    }


def group(name, keywords, terms=()):
    return {"name": name, "keywords": keywords, "search_terms": list(terms)}


def campaign(name, budget, strategy, groups, lost_budget, lost_rank, status="ENABLED", target_cpa=None,
             partners=False, display=False):
    c = {
        "name": name,
        "status": status,
        "daily_budget": budget,
        "bidding_strategy": strategy,
        "search_impression_share": round(max(0.05, 1 - lost_budget - lost_rank), 2),
        "lost_is_budget": lost_budget,
        "lost_is_rank": lost_rank,
        "networks": {"search_partners": partners, "display": display},
        "ad_groups": groups,
    }
    if target_cpa is not None:
        c["target_cpa"] = target_cpa
    return c


brand = campaign(
    "Brand - Northwind", 60.0, "TARGET_CPA",
    [group("Brand terms", [
        keyword("northwind outdoor", "EXACT", 420, 0.45, 34, 10),
        keyword("northwind boots", "EXACT", 210, 0.52, 17, 9),
        keyword("northwind tents", "EXACT", 96, 0.48, 7, 9),
        keyword("northwind jackets", "PHRASE", 133, 0.61, 9, 8),
        keyword("northwind store", "EXACT", 88, 0.40, 8, 10),
        keyword("northwind outdoor coupon", "PHRASE", 54, 0.55, 4, 8),
        keyword("northwind sale", "PHRASE", 71, 0.58, 5, 8),
        keyword("northwind returns", "EXACT", 19, 0.35, 1, 9),
    ], [term("northwind outdoor", 380, 0.45, 31)])],
    lost_budget=0.38, lost_rank=0.05, target_cpa=15.0,
)

boot_words = ["leather", "lightweight", "mens", "womens", "waterproof", "wide", "vegan",
              "insulated", "mid", "ankle", "trail", "backpacking", "winter", "best",
              "kids", "goretex", "durable", "breathable", "size 12", "sale"]
hiking_keywords = [keyword("hiking boots", "BROAD", 452, 1.42, 0, 5, impressions=9800)]
hiking_keywords += [healthy(f"{w} hiking boots", "BROAD" if i % 3 == 0 else "PHRASE")
                    for i, w in enumerate(boot_words)]
hiking_keywords += [healthy(f"buy {w} boots", "EXACT") for w in boot_words[:9]]
hiking = campaign(
    "Generic - Hiking Boots", 250.0, "MANUAL_CPC",
    [
        group("Boots - broad", hiking_keywords[:15], [
            term("free hiking boots", 22, 1.41, 0),
            term("hiking boots jobs", 9, 1.55, 0),
            term("hiking boot repair near me", 12, 1.60, 0),
            term("womens waterproof hiking boots", 40, 1.20, 3),
        ]),
        group("Boots - specific", hiking_keywords[15:], [
            term("buy leather boots online", 18, 1.10, 2),
        ]),
    ],
    lost_budget=0.02, lost_rank=0.22,
)

shoe_words = ["mens", "womens", "lightweight", "cushioned", "zero drop", "wide", "best",
              "cheap", "gore tex", "minimalist", "stability", "rock plate", "ultra",
              "beginner", "winter", "mud", "road to trail", "vegan", "sale", "kids",
              "high arch", "flat feet", "carbon", "neutral", "womens wide", "size 13", "black",
              "orange", "2026"]
trail_keywords = [keyword("waterproof trail shoes", "PHRASE", 170, 1.10, 4, 3, impressions=5400)]
trail_keywords += [healthy(f"{w} trail running shoes", "PHRASE" if i % 2 else "EXACT")
                   for i, w in enumerate(shoe_words)]
trail = campaign(
    "Generic - Trail Running", 150.0, "MAXIMIZE_CONVERSIONS",
    [group("Trail shoes", trail_keywords[:15]), group("Trail shoes - long tail", trail_keywords[15:])],
    lost_budget=0.04, lost_rank=0.41,
)

rivals = ["summit gear", "alpine co", "ridgeline", "peak supply", "trailhead outfitters",
          "basecamp store", "switchback", "granite goods", "pine & co", "high country"]
competitors = campaign(
    "Competitors", 80.0, "MANUAL_CPC",
    [group("Rival brands", [keyword(f"{r} boots", "EXACT", rng.randint(40, 60), 1.75, 0, rng.randint(3, 5))
                            for r in rivals])],
    lost_budget=0.0, lost_rank=0.35,
)

gear_words = ["tent", "sleeping bag", "camping stove", "headlamp", "sleeping pad",
              "camp chair", "backpack", "water filter", "trekking poles", "dry bag",
              "hammock", "cooler", "lantern", "tarp", "camp cookware", "first aid kit",
              "bear canister", "rain fly", "pillow", "compass", "map case", "solar charger",
              "fire starter", "camp table", "gaiters"]
gear_keywords = [healthy(f"{w}", "PHRASE" if i % 2 else "EXACT", (0.4, 1.2)) for i, w in enumerate(gear_words)]
gear_keywords.append(keyword("camping tent", "PHRASE", 250, 1.20, 3, 6))
camping = campaign(
    "Camping Gear", 120.0, "TARGET_ROAS",
    [group("Gear", gear_keywords, [
        term("2 person tent", 60, 0.9, 4),
    ])],
    lost_budget=0.08, lost_rank=0.12,
)
# The search terms report, as Google Ads exports it: each term with its campaign and
# ad group.
report_terms = [dict(term("used camping gear", 51, 1.14, 0), campaign="Camping Gear", ad_group="Gear")]

remarketing = campaign(
    "Remarketing - Tents", 40.0, "ENHANCED_CPC",
    [group("Past visitors", [healthy(f"{w} tents", "PHRASE", (0.3, 0.8)) for w in
                             ["backpacking", "family", "4 season", "ultralight", "2 person",
                              "dome", "tunnel", "pop up"]])],
    lost_budget=0.05, lost_rank=0.10, display=True,
)

rain = campaign(
    "Rain Gear", 50.0, "ENHANCED_CPC",
    [group("Rain jackets", [keyword(f"{w} rain jacket", "PHRASE", 60, 1.50, 2, 7)
                            for w in ["mens", "womens", "packable", "hiking"]])],
    lost_budget=0.0, lost_rank=0.20, partners=True,
)

winter = campaign(
    "Winter Jackets", 90.0, "MANUAL_CPC",
    [group("Jackets", [keyword(f"{w} winter jacket", "BROAD", 80, 2.10, 0, 3)
                       for w in ["down", "parka", "mens", "womens", "ski", "packable"]])],
    lost_budget=0.0, lost_rank=0.30, status="PAUSED",
)

account = {
    "account": {"id": "431-552-9087", "name": "Northwind Outdoor", "currency": "USD",
                "target_cpa": 25.0, "conversion_tracking": "active"},
    "date_range": {"start": "2026-10-01", "end": "2026-10-31"},
    "campaigns": [brand, hiking, trail, competitors, camping, remarketing, rain, winter],
    "search_terms": report_terms,
}
out = pathlib.Path(__file__).resolve().parent.parent / "ads-account.json"
out.write_text(json.dumps(account, indent=1) + "\n")
keywords = sum(len(g["keywords"]) for c in account["campaigns"] for g in c["ad_groups"])
print(f"wrote {out}: {len(account['campaigns'])} campaigns, {keywords} keywords")
