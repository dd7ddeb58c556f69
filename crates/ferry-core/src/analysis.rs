//! Analysis: the alarms guarding a deployment in, a verdict out.

use serde::{Deserialize, Serialize};

use crate::ports::{AlarmState, AlarmStatus};

/// One alarm that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Breach {
    pub alarm: String,
    pub reason: String,
}

/// The verdict on a bake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "camelCase")]
pub enum Analysis {
    /// Every alarm is OK.
    Successful,
    /// At least one alarm is in ALARM.
    Failed { breaches: Vec<Breach> },
    /// Alarms that should exist do not: the guard itself is broken.
    Error { missing: Vec<String> },
    /// No alarm fired, but some have too little data to say (treated as passing, and said).
    Inconclusive { insufficient: Vec<String> },
}

impl Analysis {
    /// Whether the deployment may go on.
    pub fn passes(&self) -> bool {
        matches!(self, Analysis::Successful | Analysis::Inconclusive { .. })
    }
}

/// `alarm web-5xx: Threshold Crossed ...; web-p99: ...`, the message of an `AlarmBreached`.
pub fn describe_breaches(breaches: &[Breach]) -> String {
    let named: Vec<String> = breaches
        .iter()
        .map(|breach| format!("{}: {}", breach.alarm, breach.reason))
        .collect();
    format!("alarm {}", named.join("; "))
}

/// Judges `statuses` (what CloudWatch returned) against the alarm names a manifest lists.
/// An alarm in ALARM wins over everything else: a missing alarm must not hide a firing one.
pub fn analyze(expected: &[String], statuses: &[AlarmStatus]) -> Analysis {
    let find = |name: &str| statuses.iter().find(|status| status.name == name);
    let breaches: Vec<Breach> = expected
        .iter()
        .filter_map(|name| find(name))
        .filter(|status| status.state == AlarmState::Alarm)
        .map(|status| Breach {
            alarm: status.name.clone(),
            reason: status.reason.clone(),
        })
        .collect();
    if !breaches.is_empty() {
        return Analysis::Failed { breaches };
    }
    let missing: Vec<String> = expected
        .iter()
        .filter(|name| find(name).is_none())
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Analysis::Error { missing };
    }
    let insufficient: Vec<String> = expected
        .iter()
        .filter(|name| {
            find(name).is_some_and(|status| status.state == AlarmState::InsufficientData)
        })
        .cloned()
        .collect();
    if !insufficient.is_empty() {
        return Analysis::Inconclusive { insufficient };
    }
    Analysis::Successful
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(name: &str, state: AlarmState) -> AlarmStatus {
        AlarmStatus {
            name: name.into(),
            state,
            reason: format!("{name} is {state:?}"),
            updated_at: None,
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn all_ok_is_successful_and_no_alarms_is_successful() {
        let statuses = [status("a", AlarmState::Ok), status("b", AlarmState::Ok)];
        assert_eq!(
            analyze(&names(&["a", "b"]), &statuses),
            Analysis::Successful
        );
        assert_eq!(analyze(&[], &[]), Analysis::Successful);
    }

    #[test]
    fn a_firing_alarm_fails_even_when_another_is_missing() {
        let statuses = [status("a", AlarmState::Alarm)];
        let verdict = analyze(&names(&["a", "gone"]), &statuses);
        assert_eq!(
            verdict,
            Analysis::Failed {
                breaches: vec![Breach {
                    alarm: "a".into(),
                    reason: "a is Alarm".into()
                }]
            }
        );
        assert!(!verdict.passes());
    }

    #[test]
    fn a_missing_alarm_is_an_error_and_insufficient_data_is_inconclusive() {
        assert_eq!(
            analyze(&names(&["gone"]), &[]),
            Analysis::Error {
                missing: names(&["gone"])
            }
        );
        let verdict = analyze(&names(&["a"]), &[status("a", AlarmState::InsufficientData)]);
        assert!(verdict.passes());
        assert!(matches!(verdict, Analysis::Inconclusive { .. }));
    }
}
