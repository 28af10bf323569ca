use super::*;

fn action(text: &str) -> Option<Action> {
    let doc = Doc::parse(text);
    let names = Names::from_doc(&doc);
    detect(doc.sentences.last()?, &names)
}

fn owner_due(text: &str) -> (Option<String>, Option<String>) {
    let a = action(text).unwrap_or_else(|| panic!("no action in {text:?}"));
    (a.owner, a.due)
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

#[test]
fn owners_from_subjects_and_assignments() {
    assert_eq!(
        owner_due("John will send the budget by Friday."),
        (some("John"), some("Friday"))
    );
    assert_eq!(
        owner_due("Alice to send the slides on March 3."),
        (some("Alice"), some("March 3"))
    );
    assert_eq!(
        owner_due("The vendor review is assigned to Bob."),
        (some("Bob"), None)
    );
    assert_eq!(
        owner_due("Maria and Tom will draft the plan next week."),
        (some("Maria and Tom"), some("next week"))
    );
    assert_eq!(
        owner_due("Priya, can you check the logs tomorrow?"),
        (some("Priya"), some("tomorrow"))
    );
    assert_eq!(
        owner_due("We need to file the report by 2026-01-31."),
        (None, some("2026-01-31"))
    );
}

#[test]
fn first_person_uses_the_speaker() {
    assert_eq!(
        owner_due("Dana: I'll update the roadmap."),
        (some("Dana"), None)
    );
    assert_eq!(
        owner_due("I will update the roadmap by end of the week."),
        (None, some("end of the week"))
    );
}

#[test]
fn statements_and_plain_questions_are_not_actions() {
    assert_eq!(action("The vendor will raise prices."), None);
    assert_eq!(action("We reviewed the numbers yesterday."), None);
    assert_eq!(action("Will we finish in time?"), None);
    assert_eq!(action("Can you hear me?"), None);
    assert_eq!(action("It should be fine."), None);
}

#[test]
fn weak_modals_count_with_a_date() {
    assert_eq!(
        owner_due("The report should be ready by Thursday."),
        (None, some("Thursday"))
    );
    assert_eq!(
        owner_due("Let's meet again in two weeks."),
        (None, some("in two weeks"))
    );
}

#[test]
fn dates_in_many_shapes() {
    let due = |t: &str| find_due(t, &words(t)).map(|d| d.0);
    assert_eq!(due("send it on 3rd of March"), some("3rd of March"));
    assert_eq!(due("ship by March 14, 2026"), some("March 14, 2026"));
    assert_eq!(due("ship by March 14. 2026 was"), some("March 14"));
    assert_eq!(due("ship by March 14 2026"), some("March 14 2026"));
    assert_eq!(due("next Monday morning"), some("next Monday"));
    assert_eq!(due("before Monday morning"), some("Monday morning"));
    assert_eq!(due("done 1/31"), some("1/31"));
    assert_eq!(due("we may go"), None);
    assert_eq!(due("tomorrow or by Friday"), some("Friday"));
}

#[test]
fn meeting_procedure_and_reports_are_not_tasks() {
    assert_eq!(action("Let's start with the budget."), None);
    assert_eq!(action("We spent most of it by the end of February."), None);
    assert!(action("Let's review the contract.").is_some());
    assert_eq!(
        owner_due("Priya and Tom agreed to join the panel next week."),
        (some("Priya and Tom"), some("next week"))
    );
}
