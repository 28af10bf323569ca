use serde::{Deserialize, Serialize};

/// A string that is not one of a domain enum's wire values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind}: {value:?}")]
pub struct UnknownValue {
    /// What was being parsed (`"status"`, `"mode"` …).
    pub kind: &'static str,
    /// The rejected input.
    pub value: String,
}

/// Makes a type with `as_str` and `FromStr` a Postgres `text` value for sqlx: it is written as
/// its wire spelling and read back through `FromStr`, so a row struct can hold it instead of a
/// `String` (an unknown spelling is a decode error). Arrays of it are `text[]`.
macro_rules! sqlx_text {
    ($name:ident) => {
        impl sqlx::Type<sqlx::Postgres> for $name {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::Type<sqlx::Postgres>>::type_info()
            }
            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        impl sqlx::postgres::PgHasArrayType for $name {
            fn array_type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::postgres::PgHasArrayType>::array_type_info()
            }
            fn array_compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::postgres::PgHasArrayType>::array_compatible(ty)
            }
        }

        impl<'q> sqlx::Encode<'q, sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<'q, sqlx::Postgres>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $name {
            fn decode(
                value: sqlx::postgres::PgValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<'r, sqlx::Postgres>>::decode(value)?;
                Ok(text.parse::<$name>()?)
            }
        }
    };
}
pub(crate) use sqlx_text;

/// Declares a string-backed enum with `as_str`, `FromStr`, serde, sqlx text encoding (see
/// [`sqlx_text`]) and an OpenAPI schema (a string with the wire values as its `enum`). The
/// wire values are matched as token trees, not `literal` fragments, so that derive macros
/// reading `#[serde(rename)]` (utoipa's) see plain literals.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal { $($(#[$vmeta:meta])* $variant:ident = $wire:tt),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        pub enum $name { $($(#[$vmeta])* #[serde(rename = $wire)] $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire and database spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(UnknownValue { kind: $kind, value: s.to_owned() }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        $crate::domain::status::sqlx_text!($name);
    };
}
pub(crate) use wire_enum;

wire_enum! {
    /// Lifecycle of a smelt (`docs/api.md#smelts`). The processing stages run
    /// in declaration order; `completed` and `failed` are terminal.
    SmeltStatus, "status" {
        Pending = "pending",
        Validating = "validating",
        Decoding = "decoding",
        Transcribing = "transcribing",
        Synthesizing = "synthesizing",
        Completed = "completed",
        Failed = "failed",
        /// Stopped at its owner's request.
        Cancelled = "cancelled",
    }
}

impl SmeltStatus {
    /// True for `completed`, `failed` and `cancelled`: nothing follows them.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            SmeltStatus::Completed | SmeltStatus::Failed | SmeltStatus::Cancelled
        )
    }
}

wire_enum! {
    /// How several files are processed (`mode` of `docs/api.md#post-apismelts--create`): one
    /// result per file, or one over all.
    SmeltMode, "mode" {
        Separate = "separate",
        Combine = "combine",
    }
}

wire_enum! {
    /// What a smelt file holds (`input_type` in `docs/api.md#get-apismeltsid--read`).
    InputType, "input type" {
        Audio = "audio",
        Text = "text",
    }
}

wire_enum! {
    /// What a result document holds: a file's (or the combined files') transcript, or the notes
    /// of one prompt.
    ResultKind, "result kind" {
        Transcript = "transcript",
        Notes = "notes",
    }
}

wire_enum! {
    /// Lifecycle of one file of a smelt (`files[].status` in `docs/api.md#get-apismeltsid--read`).
    FileStatus, "file status" {
        Pending = "pending",
        Processing = "processing",
        Completed = "completed",
        Failed = "failed",
    }
}

wire_enum! {
    /// What a service API key may do. Signed-in sessions may do everything; a key only what
    /// its scopes name. Managing keys themselves always needs a signed-in session.
    Scope, "scope" {
        /// Create, cancel and delete smelts.
        SmeltsWrite = "smelts:write",
        /// List and read smelts, follow their events, download their exports.
        SmeltsRead = "smelts:read",
        /// Register, list and remove completion webhooks and read their delivery log.
        Webhooks = "webhooks",
    }
}

wire_enum! {
    /// Where one webhook delivery stands: still being tried, accepted by the receiver (a 2xx
    /// answer), or given up after the retry window.
    DeliveryStatus, "delivery status" {
        Pending = "pending",
        Delivered = "delivered",
        GivenUp = "given_up",
    }
}

wire_enum! {
    /// Where a user's own provider key stands: none saved, saved and accepted by its
    /// provider, or rejected by it since (`api_key_status` of the profile).
    ApiKeyStatus, "API key status" {
        None = "none",
        Valid = "valid",
        Invalid = "invalid",
    }
}

wire_enum! {
    /// Who pays for a smelt, recorded when it is created: a weekly credit of its owner, its
    /// anonymous client address's smelt of the day (a failure refunds exactly that), or the
    /// owner's own API key (nothing to refund; the smelt runs only on that key).
    CreditSource, "credit source" {
        Weekly = "weekly",
        Anonymous = "anonymous",
        OwnKey = "own_key",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_wire_string() {
        for s in SmeltStatus::ALL {
            assert_eq!(s.as_str().parse::<SmeltStatus>().unwrap(), *s);
            assert_eq!(
                serde_json::to_string(s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert!("done".parse::<SmeltStatus>().is_err());
    }

    /// The `enum` of a type's OpenAPI schema.
    fn schema_values<T: utoipa::PartialSchema>() -> Vec<String> {
        let schema = serde_json::to_value(T::schema()).unwrap();
        schema["enum"]
            .as_array()
            .expect("a string enum")
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    fn wire_values<T: Copy + std::fmt::Display>(all: &[T]) -> Vec<String> {
        all.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn every_schema_lists_the_wire_values() {
        use crate::domain::{ErrorCode, PromptName};
        assert_eq!(
            schema_values::<SmeltStatus>(),
            wire_values(SmeltStatus::ALL)
        );
        assert_eq!(schema_values::<SmeltMode>(), wire_values(SmeltMode::ALL));
        assert_eq!(schema_values::<InputType>(), wire_values(InputType::ALL));
        assert_eq!(schema_values::<FileStatus>(), wire_values(FileStatus::ALL));
        assert_eq!(schema_values::<PromptName>(), wire_values(PromptName::ALL));
        assert_eq!(schema_values::<ErrorCode>(), wire_values(ErrorCode::ALL));
        assert_eq!(schema_values::<Scope>(), wire_values(Scope::ALL));
        assert_eq!(
            schema_values::<DeliveryStatus>(),
            wire_values(DeliveryStatus::ALL)
        );
        assert_eq!(
            schema_values::<ApiKeyStatus>(),
            wire_values(ApiKeyStatus::ALL)
        );
    }
}
