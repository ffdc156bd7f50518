//! The lead scorer on the sample data a newcomer runs first.

use baton_tests::{Scratch, plugin, workspace_root};

#[test]
fn the_sample_leads_are_all_scored_ranked_and_explained() {
    let scratch = Scratch::new();
    let leads = workspace_root().join("examples/leads.json");
    let input: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&leads).unwrap()).unwrap();
    let count = input["leads"].as_array().unwrap().len();
    assert!(count >= 50, "examples/leads.json has only {count} leads");

    let scorer = plugin("lead-scorer");
    let output = scratch
        .host(&[
            "invoke",
            scorer.to_str().unwrap(),
            "--input-file",
            leads.to_str().unwrap(),
        ])
        .expect_code(0)
        .json();
    let ranked = output["leads"].as_array().unwrap();
    assert_eq!(ranked.len(), count);
    for (index, lead) in ranked.iter().enumerate() {
        assert_eq!(lead["rank"], index + 1);
        let reason = lead["reason"].as_str().unwrap();
        assert!(reason.len() > 10 && reason.ends_with('.'), "{reason}");
        let score = lead["score"].as_u64().unwrap();
        assert!(score <= 100);
    }
    // Actionable leads come first, best score first.
    let actionable: Vec<u64> = ranked
        .iter()
        .take_while(|l| l["actionable"] == true)
        .map(|l| l["score"].as_u64().unwrap())
        .collect();
    assert!(
        actionable.windows(2).all(|w| w[0] >= w[1]),
        "{actionable:?}"
    );
    assert_eq!(
        actionable.len(),
        output["summary"]["actionable"].as_u64().unwrap() as usize
    );
    assert_eq!(output["top"], ranked[0]);
    assert!(
        output["top"]["reason"]
            .as_str()
            .unwrap()
            .contains("pricing")
    );
}
