//! States that controllers write and readers compare (a task's lastStatus, a deployment's
//! rolloutState, a condition's status...) as enums whose JSON is ECS's exact word.
//!
//! `wire_enum!` writes each word once: the same literal is the variant's serde name and what
//! `as_str` returns, so the two cannot drift apart and the stored JSON stays byte for byte
//! what the strings were before.

/// A word that names none of a state enum's variants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a {kind}")]
pub struct UnknownState {
    /// The enum's name (`TaskPhase`).
    pub kind: &'static str,
    /// What was given.
    pub value: String,
}

/// Declares a state enum from `Variant = "WIRE"` pairs: each variant is renamed to its word
/// for serde, and the enum gets `ALL`, `as_str`, `Display`, `FromStr` and comparison with
/// a `&str` (so a test can still say `assert_eq!(c.last_status, "RUNNING")`). The caller
/// writes the derives (serde and, where the state is part of a spec, JsonSchema).
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $wire)] $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word as it appears in JSON.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::state::UnknownState;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err($crate::state::UnknownState {
                        kind: stringify!($name),
                        value: s.to_string(),
                    }),
                }
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}
pub(crate) use wire_enum;
