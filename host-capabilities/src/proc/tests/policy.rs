//! The pure policy: compiling `[roles.R.proc]` and deciding on listings
//! and details.

use super::*;
use crate::Ruling;
use crate::error::CompileError;
use crate::proc::InfoScope;

#[test]
fn the_section_compiles_with_deny_by_default() {
    let p = ProcPolicy::compile("ops", &ProcToml::default()).unwrap();
    assert_eq!(p, ProcPolicy::deny_all("ops"));
    assert_eq!(p.summary(), Vec::<String>::new());
    let p = ProcPolicy::compile("ops", &section(true, Some("own"))).unwrap();
    assert_eq!((p.list, p.info), (true, InfoScope::Own));
    assert_eq!(
        p.summary(),
        ["list processes", "info of the runtime user's processes"]
    );
    let p = ProcPolicy::compile("ops", &section(false, Some("all"))).unwrap();
    assert_eq!(p.summary(), ["info of every process"]);
}

#[test]
fn an_unknown_info_scope_is_a_compile_error_on_the_key() {
    let e = ProcPolicy::compile("ops", &section(true, Some("everyone"))).unwrap_err();
    assert_eq!(
        e,
        CompileError::new(
            "info",
            "\"everyone\" is not a scope; use \"own\" (processes of the runtime's user), \"all\" or \"none\""
        )
    );
    assert!(ProcPolicy::compile("ops", &section(true, Some("Own"))).is_err());
}

#[test]
fn listing_needs_list_true_and_the_refusal_names_the_key() {
    let p = ProcPolicy::compile("ops", &section(true, None)).unwrap();
    assert_eq!(
        p.decide_list(),
        Ruling::allow("[roles.ops.proc].list = true")
    );
    assert_eq!(
        ProcPolicy::deny_all("ops").decide_list(),
        Ruling::deny("set list = true in [roles.ops.proc]")
    );
}

/// The "own" rule decided purely, for every combination of scope and
/// owner: this is the test that cannot depend on which users the machine
/// running it has.
#[test]
fn info_scopes_decide_by_owner() {
    let own = ProcPolicy::compile("ops", &section(false, Some("own"))).unwrap();
    let all = ProcPolicy::compile("ops", &section(false, Some("all"))).unwrap();
    let none = ProcPolicy::deny_all("ops");
    assert_eq!(
        own.decide_info(42, 1000, 1000),
        Ruling::allow("[roles.ops.proc].info = \"own\"")
    );
    assert_eq!(
        own.decide_info(1, 0, 1000),
        Ruling::deny(
            "process 1 runs as uid 0, not as the runtime's uid 1000; set info = \"all\" in [roles.ops.proc] to read any process"
        )
    );
    assert_eq!(
        all.decide_info(1, 0, 1000),
        Ruling::allow("[roles.ops.proc].info = \"all\"")
    );
    let refused = Ruling::deny(
        "set info = \"own\" (processes of the runtime's user) or \"all\" in [roles.ops.proc]",
    );
    assert_eq!(none.decide_info(42, 1000, 1000), refused);
    assert_eq!(none.decide_info_scope(), refused);
}
