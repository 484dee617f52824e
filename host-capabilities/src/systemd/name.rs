//! systemd's unit-name grammar (`unit_name_is_valid` in systemd's
//! `src/basic/unit-name.c`), checked before any policy match or bus call.

/// systemd's `UNIT_NAME_MAX` is 256 bytes including the terminating NUL.
pub const MAX_LEN: usize = 255;

/// The unit types systemd knows (the part after the last `.`).
pub const TYPES: [&str; 11] = [
    "service",
    "socket",
    "target",
    "device",
    "mount",
    "automount",
    "swap",
    "timer",
    "path",
    "slice",
    "scope",
];

/// Checks `unit` against the grammar `prefix[@instance].type`: at most
/// [`MAX_LEN`] bytes of ASCII letters, digits and `:-_.\`, at most one `@`,
/// a known type, a non-empty prefix and no leading `-` or `.` (which a
/// command line would read as an option or a hidden file). The message
/// says what is wrong.
pub fn check(unit: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("\"{unit}\" is not a unit name: {why}"));
    if unit.is_empty() {
        return bad("it is empty");
    }
    if unit.len() > MAX_LEN {
        return bad("it is longer than 255 bytes");
    }
    if unit.starts_with('-') || unit.starts_with('.') {
        return bad("it starts with '-' or '.'");
    }
    if let Some(c) = unit
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || ":-_.\\@".contains(*c)))
    {
        return bad(&format!(
            "{c:?} is not allowed (letters, digits and :-_.\\@ are)"
        ));
    }
    let Some((stem, kind)) = unit.rsplit_once('.') else {
        return bad("it has no type suffix such as .service");
    };
    if !TYPES.contains(&kind) {
        return bad(&format!(
            "\".{kind}\" is not a unit type (use one of .{})",
            TYPES.join(", .")
        ));
    }
    let prefix = match stem.split_once('@') {
        Some((prefix, instance)) if instance.contains('@') => {
            return bad(&format!("\"{prefix}@{instance}\" has more than one '@'"));
        }
        Some((prefix, _)) => prefix,
        None => stem,
    };
    if prefix.is_empty() {
        return bad("the name before the type is empty");
    }
    Ok(())
}

/// Checks a unit type for a listing: one of [`TYPES`], or empty for all.
pub fn check_type(kind: &str) -> Result<(), String> {
    if kind.is_empty() || TYPES.contains(&kind) {
        Ok(())
    } else {
        Err(format!(
            "\"{kind}\" is not a unit type (use one of {})",
            TYPES.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_systemd_accepts_pass() {
        for ok in [
            "nginx.service",
            "getty@tty1.service",
            "getty@.service",
            "dev-sda1.device",
            "sys-devices-a\\x2db.device",
            "a:b_c.timer",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        assert_eq!(check(&format!("{}.service", "a".repeat(247))), Ok(()));
    }

    #[test]
    fn names_systemd_refuses_fail_with_the_reason() {
        assert_eq!(
            check("-nginx.service"),
            Err("\"-nginx.service\" is not a unit name: it starts with '-' or '.'".into())
        );
        assert_eq!(
            check("nginx"),
            Err("\"nginx\" is not a unit name: it has no type suffix such as .service".into())
        );
        for bad in [
            "",
            ".service",
            "@x.service",
            "a@b@c.service",
            "nginx.srv",
            "ngi nx.service",
            "a/b.service",
            "naïve.service",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
        assert!(check(&format!("{}.service", "a".repeat(248))).is_err());
    }

    #[test]
    fn list_types_are_known_types_or_empty() {
        assert_eq!(check_type(""), Ok(()));
        assert_eq!(check_type("timer"), Ok(()));
        assert!(check_type("services").is_err());
    }
}
