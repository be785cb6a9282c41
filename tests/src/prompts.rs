//! Prompts shared by tests and benchmarks.

/// An application's system prompt: `rounds` × six numbered rules of a hardware shop's help
/// desk (about 100 tokens a round), the kind of long prefix every request repeats.
pub fn shop_system_prompt(rounds: usize) -> String {
    let rules = [
        "Answer in plain English and keep every answer short.",
        "If a question is ambiguous, say which reading you answer.",
        "Never invent facts about products, prices or stock.",
        "Prefer numbered steps when you explain how to do something.",
        "Quote units with every number you give, metric first.",
        "Suggest a safer tool when the customer's plan sounds risky.",
    ];
    let mut s = String::from("You are the help desk assistant of a small hardware shop. ");
    for i in 0..rounds {
        for (j, r) in rules.iter().enumerate() {
            s.push_str(&format!("Rule {}: {r} ", i * rules.len() + j + 1));
        }
    }
    s
}
