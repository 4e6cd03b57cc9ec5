//! [`GenerationPatch`]: the generation settings one source gives (a `generation_config.json`, the
//! generation keys of a `config.json`, a `task_specific_params` entry, a preset's `[generation]`
//! table, the command-line flags), every key optional, with transformers' names.
//! [`GenerationConfig::apply`](super::GenerationConfig::apply) merges patches.

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::EarlyStopping;

/// A token id, or (as transformers allows for `eos_token_id` and the like) a list of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum TokenIds {
    /// One id: `2`.
    One(u32),
    /// A non-empty list: `[1, 2]`.
    List(Vec<u32>),
}

impl TokenIds {
    /// The id when one is given; `None` for a list (where tarjama needs one id, a list counts
    /// as unset).
    pub fn single(&self) -> Option<u32> {
        match self {
            TokenIds::One(id) => Some(*id),
            TokenIds::List(_) => None,
        }
    }

    /// All the ids, in order.
    pub fn to_vec(&self) -> Vec<u32> {
        match self {
            TokenIds::One(id) => vec![*id],
            TokenIds::List(ids) => ids.clone(),
        }
    }
}

/// Generation settings from one source, each `None` where the source does not set it (a JSON
/// `null` counts as not set). Keys and meanings are those of transformers' `GenerationConfig`;
/// other keys of a source are ignored when it is read.
///
/// Read from JSON with [`GenerationPatch::from_json`] (refusing a malformed value) or
/// [`GenerationPatch::lenient`] (skipping one); it deserializes from any serde format the same
/// way (a preset's TOML), but only [`GenerationPatch::from_json`] names the key in its errors.
/// It serializes in transformers' form (`early_stopping` as `true`, `false` or `"never"`), unset
/// keys as `null`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GenerationPatch {
    /// Longest output in tokens, counting the decoder start token.
    #[serde(deserialize_with = "count")]
    pub max_length: Option<usize>,
    /// New tokens at most, not counting the decoder start token.
    #[serde(deserialize_with = "count")]
    pub max_new_tokens: Option<usize>,
    /// Shortest output in tokens, counting the decoder start token.
    #[serde(deserialize_with = "count")]
    pub min_length: Option<usize>,
    /// Fewest new tokens.
    #[serde(deserialize_with = "count")]
    pub min_new_tokens: Option<usize>,
    /// Beam width; 1 is greedy search.
    #[serde(deserialize_with = "count")]
    pub num_beams: Option<usize>,
    /// Hypotheses returned per input.
    #[serde(deserialize_with = "count")]
    pub num_return_sequences: Option<usize>,
    /// Exponent of the length in beam scores (a Python float).
    #[serde(deserialize_with = "number")]
    pub length_penalty: Option<f64>,
    /// Beam-search stopping rule.
    #[serde(
        deserialize_with = "early_stopping",
        serialize_with = "early_stopping_json"
    )]
    pub early_stopping: Option<EarlyStopping>,
    /// No n-gram of this size may occur twice (0 = off).
    #[serde(deserialize_with = "count")]
    pub no_repeat_ngram_size: Option<usize>,
    /// Penalty on tokens already generated (1.0 = off; a Python float).
    #[serde(deserialize_with = "number")]
    pub repetition_penalty: Option<f64>,
    /// Token sequences that may not be generated.
    #[serde(deserialize_with = "id_lists")]
    pub bad_words_ids: Option<Vec<Vec<u32>>>,
    /// Log-softmax again after all logits processors.
    #[serde(deserialize_with = "flag")]
    pub renormalize_logits: Option<bool>,
    /// Token forced as the first generated token.
    #[serde(deserialize_with = "token_ids")]
    pub forced_bos_token_id: Option<TokenIds>,
    /// Token forced at the last position the length limit allows.
    #[serde(deserialize_with = "token_ids")]
    pub forced_eos_token_id: Option<TokenIds>,
    /// The token the decoder starts from.
    #[serde(deserialize_with = "token_ids")]
    pub decoder_start_token_id: Option<TokenIds>,
    /// Beginning-of-sequence id (the decoder start where `decoder_start_token_id` is unset).
    #[serde(deserialize_with = "token_ids")]
    pub bos_token_id: Option<TokenIds>,
    /// End-of-sequence id(s).
    #[serde(deserialize_with = "token_ids")]
    pub eos_token_id: Option<TokenIds>,
    /// Padding id.
    #[serde(deserialize_with = "token_ids")]
    pub pad_token_id: Option<TokenIds>,
    /// Sample instead of taking the most likely token.
    #[serde(deserialize_with = "flag")]
    pub do_sample: Option<bool>,
    /// Sampling temperature (a Python float).
    #[serde(deserialize_with = "number")]
    pub temperature: Option<f64>,
    /// Top-k filtering when sampling (0 = off).
    #[serde(deserialize_with = "count")]
    pub top_k: Option<usize>,
    /// Top-p (nucleus) filtering when sampling (a Python float).
    #[serde(deserialize_with = "number")]
    pub top_p: Option<f64>,
    /// The seed of tarjama's sampling streams (not a transformers key: its `generate()` draws
    /// from torch's generator).
    #[serde(deserialize_with = "seed")]
    pub seed: Option<u64>,
}

impl GenerationPatch {
    /// Reads the generation keys of a JSON object; other keys are not looked at, `null` means
    /// unset.
    ///
    /// Errors: `expected a JSON object`, or, for the first malformed key in name order, a
    /// message naming the key, its value and what it should be
    /// (`num_beams must be a non-negative integer, not "four"`).
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let obj = v.as_object().ok_or("expected a JSON object")?;
        Self::from_entries(obj.iter())
    }

    /// Reads the generation keys of a JSON object as [`Self::from_json`] does, skipping a value
    /// of the wrong type instead of refusing it (a `task_specific_params` entry, and a
    /// `config.json` that only fills in token ids, are taken as they come). Not an object: an
    /// empty patch.
    pub fn lenient(v: &Value) -> Self {
        let Some(obj) = v.as_object() else {
            return Self::default();
        };
        let fits =
            |(k, x): &(&String, &Value)| Self::from_entries(std::iter::once((*k, *x))).is_ok();
        Self::from_entries(obj.iter().filter(fits)).unwrap_or_default()
    }

    /// The keys a patch knows (its fields), sorted.
    pub fn keys() -> Vec<String> {
        match serde_json::to_value(Self::default()) {
            Ok(Value::Object(fields)) => fields.into_iter().map(|(k, _)| k).collect(),
            _ => Vec::new(),
        }
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The keys that are set with their values in transformers' JSON form, sorted by key
    /// (`("num_beams", 4)`), as a `generation_config.json` would hold them.
    pub fn iter(&self) -> impl Iterator<Item = (String, Value)> {
        let fields = match serde_json::to_value(self) {
            Ok(Value::Object(fields)) => fields,
            _ => serde_json::Map::new(),
        };
        fields.into_iter().filter(|(_, v)| !v.is_null())
    }

    fn from_entries<'a>(
        entries: impl Iterator<Item = (&'a String, &'a Value)>,
    ) -> Result<Self, String> {
        let map = KeyedMap { entries, key: None };
        Self::deserialize(de::value::MapAccessDeserializer::new(map)).map_err(|e| e.to_string())
    }
}

/// A JSON object's entries as serde map, whose value errors name their key (`{key} {error}`).
struct KeyedMap<'a, I> {
    entries: I,
    key: Option<(&'a String, &'a Value)>,
}

impl<'a, I: Iterator<Item = (&'a String, &'a Value)>> MapAccess<'a> for KeyedMap<'a, I> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.key = Some((key, value));
        seed.deserialize(key.as_str().into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let (key, value) = self
            .key
            .take()
            .ok_or_else(|| de::Error::custom("a value without its key"))?;
        seed.deserialize(value)
            .map_err(|e| de::Error::custom(format!("{key} {e}")))
    }
}

/// The value of a key, or `None` for `null`; `what` (the expected form) where `read` refuses it.
fn read<'de, D, T>(
    d: D,
    what: &str,
    read: impl FnOnce(&Value) -> Option<T>,
) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
{
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    read(&v)
        .map(Some)
        .ok_or_else(|| de::Error::custom(format!("must be {what}, not {v}")))
}

/// A count: a non-negative integer.
fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    read(d, "a non-negative integer", |v| {
        v.as_u64().map(|n| n as usize)
    })
}

/// A seed: a non-negative 64-bit integer.
fn seed<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    read(d, "a non-negative integer", Value::as_u64)
}

/// A number, integer or not.
fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    read(d, "a number", Value::as_f64)
}

/// `true` or `false`.
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    read(d, "true or false", Value::as_bool)
}

/// `early_stopping`: `true`, `false` or `"never"`.
fn early_stopping<'de, D: Deserializer<'de>>(d: D) -> Result<Option<EarlyStopping>, D::Error> {
    read(d, "true, false or \"never\"", |v| match v {
        Value::Bool(true) => Some(EarlyStopping::True),
        Value::Bool(false) => Some(EarlyStopping::False),
        Value::String(s) if s == "never" => Some(EarlyStopping::Never),
        _ => None,
    })
}

/// `early_stopping` in transformers' form.
fn early_stopping_json<S: Serializer>(v: &Option<EarlyStopping>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        None => s.serialize_none(),
        Some(EarlyStopping::True) => s.serialize_bool(true),
        Some(EarlyStopping::False) => s.serialize_bool(false),
        Some(EarlyStopping::Never) => s.serialize_str("never"),
    }
}

/// An id, or a non-empty list of ids. Ids are read as 64-bit and cut to 32 bits, as tarjama
/// always has.
fn ids(v: &Value) -> Option<TokenIds> {
    match v {
        Value::Number(n) => n.as_u64().map(|x| TokenIds::One(x as u32)),
        Value::Array(a) if !a.is_empty() => a
            .iter()
            .map(|x| x.as_u64().map(|x| x as u32))
            .collect::<Option<Vec<u32>>>()
            .map(TokenIds::List),
        _ => None,
    }
}

/// A token id (or a list of them).
fn token_ids<'de, D: Deserializer<'de>>(d: D) -> Result<Option<TokenIds>, D::Error> {
    read(
        d,
        "a token id (a non-negative integer) or a list of them",
        ids,
    )
}

/// A list of non-empty lists of token ids.
fn id_lists<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Vec<u32>>>, D::Error> {
    read(d, "a list of lists of token ids", |v| {
        v.as_array()?
            .iter()
            .map(|s| match (s, ids(s)) {
                (Value::Array(_), Some(ids)) => Some(ids.to_vec()),
                _ => None,
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_of_the_wrong_type_are_errors_naming_the_key_and_other_keys_are_not_checked() {
        // Real-world shapes: distilbart-cnn's config.json (no generation_config.json), with
        // nulls, floats, a boolean early_stopping and keys tarjama does not know.
        let ok = json!({
            "model_type": "bart", "eos_token_id": 2, "pad_token_id": 1, "bos_token_id": 0,
            "decoder_start_token_id": 2, "forced_bos_token_id": null, "forced_eos_token_id": [2],
            "early_stopping": true, "length_penalty": 2.0, "repetition_penalty": 1,
            "max_length": 142, "min_length": 56, "no_repeat_ngram_size": 3, "num_beams": 4,
            "max_new_tokens": null, "bad_words_ids": [[58100], [1, 2]],
            "renormalize_logits": false, "transformers_version": "4.57.6",
            "task_specific_params": {"summarization": {"num_beams": "x"}},
            "id2label": {"0": "LABEL_0"}, "cache_implementation": "static"
        });
        let p = GenerationPatch::from_json(&ok).unwrap();
        assert_eq!(p.num_beams, Some(4));
        assert_eq!(p.max_length, Some(142));
        assert_eq!(p.max_new_tokens, None);
        assert_eq!(p.length_penalty, Some(2.0));
        assert_eq!(p.repetition_penalty, Some(1.0));
        assert_eq!(p.early_stopping, Some(EarlyStopping::True));
        assert_eq!(p.bad_words_ids, Some(vec![vec![58100], vec![1, 2]]));
        assert_eq!(p.forced_bos_token_id, None);
        assert_eq!(p.forced_eos_token_id, Some(TokenIds::List(vec![2])));
        assert_eq!(p.eos_token_id, Some(TokenIds::One(2)));
        assert_eq!(p.renormalize_logits, Some(false));
        assert_eq!(
            GenerationPatch::from_json(&json!({"early_stopping": "never"}))
                .unwrap()
                .early_stopping,
            Some(EarlyStopping::Never)
        );
        for (bad, msg) in [
            (
                json!({"num_beams": "four"}),
                "num_beams must be a non-negative integer, not \"four\"",
            ),
            (
                json!({"num_beams": 4.5}),
                "num_beams must be a non-negative integer, not 4.5",
            ),
            (
                json!({"max_new_tokens": -1}),
                "max_new_tokens must be a non-negative integer, not -1",
            ),
            (
                json!({"length_penalty": "2"}),
                "length_penalty must be a number, not \"2\"",
            ),
            (
                json!({"early_stopping": "yes"}),
                "early_stopping must be true, false or \"never\", not \"yes\"",
            ),
            (
                json!({"renormalize_logits": 1}),
                "renormalize_logits must be true or false, not 1",
            ),
            (
                json!({"bad_words_ids": [1, 2]}),
                "bad_words_ids must be a list of lists of token ids, not [1,2]",
            ),
            (
                json!({"bad_words_ids": [[]]}),
                "bad_words_ids must be a list of lists of token ids, not [[]]",
            ),
            (
                json!({"eos_token_id": [1, "x"]}),
                "eos_token_id must be a token id (a non-negative integer) or a list of them, not [1,\"x\"]",
            ),
            (
                json!({"pad_token_id": []}),
                "pad_token_id must be a token id (a non-negative integer) or a list of them, not []",
            ),
            // The first bad key in name order is the one named.
            (
                json!({"num_beams": "x", "max_length": "y"}),
                "max_length must be a non-negative integer, not \"y\"",
            ),
        ] {
            assert_eq!(GenerationPatch::from_json(&bad).unwrap_err(), msg);
        }
        assert_eq!(
            GenerationPatch::from_json(&json!([1])).unwrap_err(),
            "expected a JSON object"
        );
    }

    #[test]
    fn lenient_reading_skips_only_the_malformed_keys() {
        let p = GenerationPatch::lenient(&json!({
            "num_beams": "four", "max_length": 30, "early_stopping": "sometimes",
            "length_penalty": 0.5, "prefix": "summarize: "
        }));
        assert_eq!(
            p,
            GenerationPatch {
                max_length: Some(30),
                length_penalty: Some(0.5),
                ..GenerationPatch::default()
            }
        );
        assert!(GenerationPatch::lenient(&json!("x")).is_empty());
    }

    #[test]
    fn a_preset_table_reads_from_toml_and_lists_in_transformers_form() {
        #[derive(Deserialize)]
        struct Preset {
            generation: GenerationPatch,
        }
        let p: Preset = toml::from_str(
            "[generation]\nnum_beams = 4\nlength_penalty = 0.6\nearly_stopping = true\n\
             forced_bos_token_id = 3\nbad_words_ids = [[5, 6]]\n",
        )
        .unwrap();
        let listed: Vec<String> = p
            .generation
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(
            listed,
            [
                "bad_words_ids=[[5,6]]",
                "early_stopping=true",
                "forced_bos_token_id=3",
                "length_penalty=0.6",
                "num_beams=4"
            ]
        );
        let never = GenerationPatch {
            early_stopping: Some(EarlyStopping::Never),
            ..GenerationPatch::default()
        };
        assert_eq!(
            never.iter().collect::<Vec<_>>(),
            [("early_stopping".to_string(), json!("never"))]
        );
        // Serialized and read back, a patch is unchanged.
        let back = GenerationPatch::from_json(&serde_json::to_value(&p.generation).unwrap());
        assert_eq!(back.unwrap(), p.generation);
    }

    #[test]
    fn the_keys_are_the_fields() {
        let keys = GenerationPatch::keys();
        assert_eq!(keys.len(), 23);
        for k in ["num_beams", "max_length", "eos_token_id", "bad_words_ids"] {
            assert!(keys.iter().any(|x| x == k), "{k}");
        }
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
    }
}
