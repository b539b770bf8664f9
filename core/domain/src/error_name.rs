//! The error names a Lambda reports as its `errorType`, which the state
//! machine's `Retry` and `Catch` match (`statemachine/rotation.asl.json`),
//! and which the rollback step reads back from the caught error. One list, so
//! a name cannot be spelt one way where it is produced and another where it
//! is matched: the test below holds it to the state machine both ways.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Declares [`ErrorName`] from one list of `Variant = "exact string"`: the
/// enum, its serde names, [`ErrorName::ALL`] and [`ErrorName::as_str`] cannot
/// drift apart.
macro_rules! error_names {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// A stable error name. Serialised (and [`Display`](fmt::Display)ed)
        /// as the exact string Step Functions sees.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum ErrorName {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)*
        }

        impl ErrorName {
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }
        }
    };
}

error_names! {
    // keyturn's own, produced by its functions.
    /// A table or AWS service throttled or failed transiently: retried.
    StoreThrottled = "StoreThrottled",
    /// A table or AWS service refused (not worth retrying).
    StoreUnavailable = "StoreUnavailable",
    /// The vendor throttled past every in-step retry: the step is retried.
    VendorThrottled = "VendorThrottled",
    /// The vendor failed (5xx, timeout) past every in-step retry: retried.
    VendorUnavailable = "VendorUnavailable",
    /// The vendor refused the call (a 4xx other than 401, 403 and 429).
    VendorRejected = "VendorRejected",
    /// The new key does not work (pre-flight or verification, or a 401/403).
    VerificationFailed = "VerificationFailed",
    /// The identity provider refused the new key.
    ConsumerRejected = "ConsumerRejected",
    /// The connector is missing from the inventory or no longer valid.
    InvalidConnector = "InvalidConnector",
    /// No approver (or owner) could be reached: the request step is retried.
    NotifyUnavailable = "NotifyUnavailable",
    /// The approval routing is not valid.
    ApprovalRoutingInvalid = "ApprovalRoutingInvalid",
    /// A function's configuration (its environment) is not valid.
    ConfigInvalid = "ConfigInvalid",
    /// The scan ran but could not read everything it should have.
    ScanIncomplete = "ScanIncomplete",
    // Lambda's: what the service reports, matched, not produced by keyturn
    // (except `Runtime.ExitError`, which a crash-test stop reports too).
    /// The runtime died mid-invocation (timeout, out of memory, a panic).
    RuntimeExitError = "Runtime.ExitError",
    LambdaUnknown = "Lambda.Unknown",
    LambdaServiceException = "Lambda.ServiceException",
    LambdaAwsLambdaException = "Lambda.AWSLambdaException",
    LambdaSdkClientException = "Lambda.SdkClientException",
    LambdaTooManyRequestsException = "Lambda.TooManyRequestsException",
}

impl ErrorName {
    /// Why no `ErrorEquals` of the state machine names this error, for the
    /// names it does not match; `None` for those it does (retried).
    pub const fn unmatched_because(self) -> Option<&'static str> {
        const PERMANENT: &str =
            "not transient, so never retried: the step's States.ALL catch takes it (or, with none, the execution fails)";
        match self {
            Self::StoreUnavailable
            | Self::VendorRejected
            | Self::ConsumerRejected
            | Self::InvalidConnector
            | Self::ApprovalRoutingInvalid
            | Self::ConfigInvalid => Some(PERMANENT),
            Self::VerificationFailed => Some(
                "not transient: the States.ALL catch of Rotate/Verify/Finalize goes to Rollback, which reads this name",
            ),
            Self::ScanIncomplete => Some("the scanner runs on its schedule, outside the state machine"),
            Self::StoreThrottled
            | Self::VendorThrottled
            | Self::VendorUnavailable
            | Self::NotifyUnavailable
            | Self::RuntimeExitError
            | Self::LambdaUnknown
            | Self::LambdaServiceException
            | Self::LambdaAwsLambdaException
            | Self::LambdaSdkClientException
            | Self::LambdaTooManyRequestsException => None,
        }
    }
}

impl fmt::Display for ErrorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|n| n.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not one of keyturn's error names"))
    }
}

impl PartialEq<ErrorName> for str {
    fn eq(&self, other: &ErrorName) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<ErrorName> for String {
    fn eq(&self, other: &ErrorName) -> bool {
        self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every name in every `ErrorEquals` of the state machine.
    fn asl_names() -> BTreeSet<String> {
        fn walk(v: &serde_json::Value, out: &mut BTreeSet<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, v) in m {
                        match (k.as_str(), v) {
                            ("ErrorEquals", serde_json::Value::Array(names)) => {
                                out.extend(names.iter().filter_map(|n| n.as_str()).map(str::to_owned))
                            }
                            _ => walk(v, out),
                        }
                    }
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        let asl: serde_json::Value =
            serde_json::from_str(include_str!("../../../statemachine/rotation.asl.json")).unwrap();
        let mut out = BTreeSet::new();
        walk(&asl, &mut out);
        out
    }

    #[test]
    fn every_name_the_state_machine_matches_is_an_error_name() {
        let names = asl_names();
        // A parser that found nothing would pass everything below.
        assert!(names.contains("StoreThrottled") && names.contains("States.ALL"), "{names:?}");
        let unknown: Vec<&String> =
            names.iter().filter(|n| !n.starts_with("States.") && n.parse::<ErrorName>().is_err()).collect();
        assert!(unknown.is_empty(), "matched by statemachine/rotation.asl.json, not in ErrorName: {unknown:?}");
    }

    #[test]
    fn every_error_name_is_matched_by_the_state_machine_or_says_why_not() {
        let names = asl_names();
        for &n in ErrorName::ALL {
            match (names.contains(n.as_str()), n.unmatched_because()) {
                (true, None) | (false, Some(_)) => {}
                (true, Some(why)) => panic!("{n} is matched by the state machine, yet says {why:?}"),
                (false, None) => panic!("{n} is not matched by the state machine: say why in unmatched_because"),
            }
        }
    }

    #[test]
    fn serde_display_and_parse_are_the_exact_string() {
        let mut seen = BTreeSet::new();
        for &n in ErrorName::ALL {
            assert!(seen.insert(n.as_str()), "{n} twice");
            assert_eq!(serde_json::to_value(n).unwrap(), n.as_str());
            assert_eq!(serde_json::from_value::<ErrorName>(n.as_str().into()).unwrap(), n);
            assert_eq!(n.to_string(), n.as_str());
            assert_eq!(n.as_str().parse::<ErrorName>(), Ok(n));
            // What rollback does with the caught error's name (a String).
            let caught: String = n.as_str().into();
            assert!(*n.as_str() == n && caught == n);
        }
        assert!("States.ALL".parse::<ErrorName>().is_err());
    }
}
