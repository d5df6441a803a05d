//! Closed sets of values that travel on D-Bus as stable strings.
//!
//! A property such as `Player1.State` is a string on the wire (what
//! `busctl`, `gdbus` and other languages' bindings read) and an enum in
//! Rust on both sides, so a misspelt or unknown state is a compile error
//! or a decoding error, never a silent mismatch. [`closed_set!`] declares
//! one: the enum, its wire names, and the conversions zbus and people
//! need.

/// Declares `enum $name` whose variants travel as the given strings.
macro_rules! closed_set {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            serde::Serialize, serde::Deserialize, zbus::Type,
        )]
        #[zbus(signature = "s")]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $wire)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $wire, )+
                }
            }

            /// Parses a wire name.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use closed_set;
