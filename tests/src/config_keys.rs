//! Field names of a configuration section, read from its serde `Deserialize` impl.
//!
//! A derived `Deserialize` for a struct passes the list of its field names to the
//! deserializer. A deserializer that records that list and stops gives the documented
//! keys of a section without a second hand-written list that could drift.

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};

/// Returns the field names of the struct `T` deserializes from.
pub fn field_names<T: DeserializeOwned>() -> Vec<&'static str> {
    let mut recorder = FieldRecorder::default();
    let _ = T::deserialize(&mut recorder);
    recorder.fields
}

#[derive(Default)]
struct FieldRecorder {
    fields: Vec<&'static str>,
}

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names recorded")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for &mut FieldRecorder {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        self.fields = fields.to_vec();
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}
