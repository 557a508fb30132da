//! Value types with ECS's rules built in: bounded integers, CPU units and memory sizes that
//! ECS lets users write as numbers or as strings ("1 vCPU", "0.5 GB").

use schemas_helpers::*;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

mod schemas_helpers {
    pub use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
    pub use std::borrow::Cow;
}

/// Defines a newtype over an integer that only accepts values in `MIN..=MAX`, with an error
/// that names the range (`expected an integer 1..65535, got "http"`) and a schema that has it.
macro_rules! bounded_int {
    ($(#[$doc:meta])* $name:ident, $ty:ty, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $ty);

        impl $name {
            pub const MIN: $ty = $min;
            pub const MAX: $ty = $max;
            /// The plain value.
            pub fn get(self) -> $ty {
                self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.0.serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = d.deserialize_any(IntVisitor { min: $min as i128, max: $max as i128 })?;
                Ok($name(v as $ty))
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn inline_schema() -> bool {
                true
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({"type": "integer", "minimum": $min, "maximum": $max})
            }
        }
    };
}

struct IntVisitor {
    min: i128,
    max: i128,
}

impl IntVisitor {
    fn check<E: de::Error>(&self, v: i128) -> Result<i128, E> {
        if v < self.min || v > self.max {
            Err(E::custom(format!(
                "expected an integer {}..{}, got {v}",
                self.min, self.max
            )))
        } else {
            Ok(v)
        }
    }
}

impl<'de> Visitor<'de> for IntVisitor {
    type Value = i128;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an integer {}..{}", self.min, self.max)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i128, E> {
        self.check(v as i128)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i128, E> {
        self.check(v as i128)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i128, E> {
        if v.fract() == 0.0 && v.abs() < 1e18 {
            self.check(v as i128)
        } else {
            Err(E::invalid_type(de::Unexpected::Float(v), &self))
        }
    }
    /// A string holding an integer (`"80"`), as templated ECS documents write them, reads as
    /// the number, with the same bounds; anything else is the type error it always was.
    fn visit_str<E: de::Error>(self, v: &str) -> Result<i128, E> {
        match v.trim().parse::<i128>() {
            Ok(n) => self.check(n),
            Err(_) => Err(E::invalid_type(de::Unexpected::Str(v), &self)),
        }
    }
}

/// Deserializers for the plain integer fields of specs (`#[serde(deserialize_with)]`): like
/// the bounded types, they read a number or a string holding one (`"64"`), so that every
/// integer field of an ECS document takes both, and store the number. Schemas keep saying
/// "integer": that is the form to write.
pub mod lenient {
    use super::IntVisitor;
    use serde::{Deserialize, Deserializer};

    macro_rules! lenient_int {
        ($wrapper:ident, $plain:ident, $optional:ident, $ty:ty) => {
            struct $wrapper($ty);

            impl<'de> Deserialize<'de> for $wrapper {
                fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    let v = d.deserialize_any(IntVisitor {
                        min: <$ty>::MIN as i128,
                        max: <$ty>::MAX as i128,
                    })?;
                    Ok($wrapper(v as $ty))
                }
            }

            /// A number or a string holding one.
            pub fn $plain<'de, D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                $wrapper::deserialize(d).map(|w| w.0)
            }

            /// As the plain form, for an optional field (null is absent).
            pub fn $optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<$ty>, D::Error> {
                Option::<$wrapper>::deserialize(d).map(|o| o.map(|w| w.0))
            }
        };
    }

    lenient_int!(LenientU32, u32, opt_u32, u32);
    lenient_int!(LenientI64, i64, opt_i64, i64);
}

bounded_int!(
    /// A TCP/UDP port, 1..65535.
    Port, u16, 1, 65535
);
bounded_int!(
    /// A security group rule's port (tcp, udp: 0..65535) or ICMP type and code (0..255),
    /// -1 meaning any, as EC2 writes them.
    RulePort, i32, -1, 65535
);
bounded_int!(
    /// A host port: 0 asks for an ephemeral port (bridge mode), else 1..65535.
    HostPort, u16, 0, 65535
);
bounded_int!(
    /// Health check interval in seconds (ECS: 5..300, default 30).
    HealthInterval, u32, 5, 300
);
bounded_int!(
    /// Health check timeout in seconds (ECS: 2..60, default 5).
    HealthTimeout, u32, 2, 60
);
bounded_int!(
    /// Health check retries (ECS: 1..10, default 3).
    HealthRetries, u32, 1, 10
);
bounded_int!(
    /// Health check grace period at container start in seconds (ECS: 0..300, default 0).
    HealthStartPeriod, u32, 0, 300
);
bounded_int!(
    /// A percentage 0..100.
    Percent, u32, 0, 100
);
bounded_int!(
    /// A non-negative count (tasks, seconds) up to 2^31-1, as ECS's Integer fields.
    Count, u32, 0, 2_147_483_647
);
bounded_int!(
    /// Seconds to wait for a container to stop after SIGTERM before SIGKILL (ECS: 0..120).
    StopTimeout, u32, 0, 120
);
bounded_int!(
    /// Seconds to wait for a container's dependencies (ECS startTimeout; 2..).
    StartTimeout, u32, 2, 2_147_483_647
);
bounded_int!(
    /// Ephemeral storage for a Fargate task in GiB (ECS: 21..200).
    EphemeralGiB, u32, 21, 200
);

/// CPU in ECS units (1024 = one vCPU). Written as a number (`256`), a numeric string
/// (`"256"`) or with vCPU (`"0.25 vCPU"`, `"1 vcpu"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CpuUnits(pub u32);

/// Memory in MiB. Written as a number (`512`), a numeric string (`"512"`) or with a unit
/// (`"0.5 GB"`, `"1GB"`, `"512 MiB"`, `"2 GiB"`); GB and GiB both mean 1024 MiB, as in ECS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MemoryMiB(pub u32);

/// Parses ECS's CPU notation into units.
pub fn parse_cpu(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let (num, factor) = match lower.strip_suffix("vcpu") {
        Some(n) => (n.trim(), 1024.0),
        None => (lower.as_str(), 1.0),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("expected CPU units (256) or vCPU (\"0.25 vCPU\"), got {s:?}"))?;
    let units = v * factor;
    if !(0.0..=4_194_304.0).contains(&units) || units.fract() != 0.0 {
        return Err(format!(
            "CPU {s:?} is not a whole number of CPU units (1 vCPU = 1024)"
        ));
    }
    Ok(units as u32)
}

/// Parses ECS's memory notation into MiB.
pub fn parse_memory(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    let factor = match unit.trim() {
        "" | "mb" | "mib" | "m" => 1.0,
        "gb" | "gib" | "g" => 1024.0,
        _ => {
            return Err(format!(
                "expected memory in MiB (512) or with a unit (\"0.5 GB\"), got {s:?}"
            ));
        }
    };
    let v: f64 = num.parse().map_err(|_| {
        format!("expected memory in MiB (512) or with a unit (\"0.5 GB\"), got {s:?}")
    })?;
    let mib = v * factor;
    if !(0.0..=u32::MAX as f64).contains(&mib) || mib.fract() != 0.0 {
        return Err(format!("memory {s:?} is not a whole number of MiB"));
    }
    Ok(mib as u32)
}

struct UnitVisitor {
    what: &'static str,
    parse: fn(&str) -> Result<u32, String>,
}

impl<'de> Visitor<'de> for UnitVisitor {
    type Value = u32;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.what)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u32, E> {
        u32::try_from(v)
            .map_err(|_| E::custom(format!("expected {}, got {v} (too large)", self.what)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u32, E> {
        u32::try_from(v).map_err(|_| E::custom(format!("expected {}, got {v}", self.what)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u32, E> {
        (self.parse)(&v.to_string()).map_err(E::custom)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<u32, E> {
        (self.parse)(v).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for CpuUnits {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor {
            what: "CPU units (256) or vCPU (\"0.25 vCPU\")",
            parse: parse_cpu,
        })
        .map(CpuUnits)
    }
}

impl<'de> Deserialize<'de> for MemoryMiB {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor {
            what: "memory in MiB (512) or with a unit (\"0.5 GB\")",
            parse: parse_memory,
        })
        .map(MemoryMiB)
    }
}

impl Serialize for CpuUnits {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl Serialize for MemoryMiB {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl JsonSchema for CpuUnits {
    fn schema_name() -> Cow<'static, str> {
        "CpuUnits".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "CPU units (1024 = 1 vCPU): a number, a numeric string, or \"N vCPU\".",
            "oneOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*([vV][cC][pP][uU])?\\s*$"}
            ]
        })
    }
}

impl JsonSchema for MemoryMiB {
    fn schema_name() -> Cow<'static, str> {
        "MemoryMiB".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Memory in MiB: a number, a numeric string, or with a unit (\"0.5 GB\", \"512 MiB\").",
            "oneOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*([mMgG]([bB]|[iI][bB])?)?\\s*$"}
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_notations() {
        assert_eq!(parse_cpu("256"), Ok(256));
        assert_eq!(parse_cpu("1 vCPU"), Ok(1024));
        assert_eq!(parse_cpu("0.25 vcpu"), Ok(256));
        assert_eq!(parse_cpu(".5vCPU"), Ok(512));
        assert!(parse_cpu("lots").is_err());
        assert!(parse_cpu("0.3 vCPU").is_err());
    }

    #[test]
    fn memory_notations() {
        assert_eq!(parse_memory("512"), Ok(512));
        assert_eq!(parse_memory("0.5 GB"), Ok(512));
        assert_eq!(parse_memory("1GB"), Ok(1024));
        assert_eq!(parse_memory("2 GiB"), Ok(2048));
        assert_eq!(parse_memory("300 MiB"), Ok(300));
        assert!(parse_memory("1 TB").is_err());
    }

    #[test]
    fn bounded_ints_name_their_range() {
        let e = serde_json::from_value::<Port>(serde_json::json!("http")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid type: string \"http\", expected an integer 1..65535"
        );
        let e = serde_json::from_value::<Port>(serde_json::json!(70000)).unwrap_err();
        assert_eq!(e.to_string(), "expected an integer 1..65535, got 70000");
        assert_eq!(
            serde_json::from_value::<Port>(serde_json::json!(80)).unwrap(),
            Port(80)
        );
        let m: MemoryMiB = serde_json::from_value(serde_json::json!("0.5 GB")).unwrap();
        assert_eq!(m, MemoryMiB(512));
    }

    #[test]
    fn string_integers_read_as_numbers_in_every_integer_field() {
        let p: Port = serde_json::from_value(serde_json::json!("80")).unwrap();
        assert_eq!(p, Port(80));
        let e = serde_json::from_value::<Port>(serde_json::json!("70000")).unwrap_err();
        assert_eq!(e.to_string(), "expected an integer 1..65535, got 70000");
        let e = serde_json::from_value::<Port>(serde_json::json!("${PORT}")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid type: string \"${PORT}\", expected an integer 1..65535"
        );

        #[derive(Deserialize, Debug)]
        struct Plain {
            #[serde(deserialize_with = "lenient::u32")]
            size: u32,
            #[serde(default, deserialize_with = "lenient::opt_i64")]
            soft: Option<i64>,
        }
        let p: Plain =
            serde_json::from_value(serde_json::json!({"size": "64", "soft": "-1"})).unwrap();
        assert_eq!((p.size, p.soft), (64, Some(-1)));
        let p: Plain =
            serde_json::from_value(serde_json::json!({"size": 64, "soft": null})).unwrap();
        assert_eq!((p.size, p.soft), (64, None));
        let p: Plain = serde_json::from_value(serde_json::json!({"size": 64})).unwrap();
        assert_eq!(p.soft, None);
        assert!(serde_json::from_value::<Plain>(serde_json::json!({"size": "-1"})).is_err());
        assert!(serde_json::from_value::<Plain>(serde_json::json!({"size": "big"})).is_err());
    }
}
