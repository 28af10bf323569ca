//! What a smelt asks of speech recognition: which model, which language, which task. Each is
//! parsed from its wire string against the catalogue of models Smelt serves, so a combination
//! no model can do never reaches a worker.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Whisper's language codes, in the order of its tokenizer (`<|en|>` … `<|su|>`): ISO 639-1
/// codes, except `haw` (Hawaiian, ISO 639-2) and `jw` (Javanese; Whisper's spelling of `jv`).
/// Source: OpenAI Whisper's `tokenizer.py` `LANGUAGES`, the 99 language tokens of the
/// multilingual models.
pub const WHISPER_LANGUAGES: [&str; 99] = [
    "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it",
    "id", "hi", "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur",
    "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk", "te", "fa", "lv", "bn", "sr", "az", "sl", "kn",
    "et", "mk", "br", "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw", "gl", "mr", "pa", "si",
    "km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo",
    "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln",
    "ha", "ba", "jw", "su",
];

/// The English names of [`WHISPER_LANGUAGES`], in the same order, as Whisper spells them
/// (lowercase; `haitian creole`, `myanmar`, `nynorsk`). Source: the same `LANGUAGES` table of
/// OpenAI Whisper's `tokenizer.py`. OpenAI's Audio API names a transcript's language this way
/// (`"language": "english"`).
pub const WHISPER_LANGUAGE_NAMES: [&str; 99] = [
    "english",
    "chinese",
    "german",
    "spanish",
    "russian",
    "korean",
    "french",
    "japanese",
    "portuguese",
    "turkish",
    "polish",
    "catalan",
    "dutch",
    "arabic",
    "swedish",
    "italian",
    "indonesian",
    "hindi",
    "finnish",
    "vietnamese",
    "hebrew",
    "ukrainian",
    "greek",
    "malay",
    "czech",
    "romanian",
    "danish",
    "hungarian",
    "tamil",
    "norwegian",
    "thai",
    "urdu",
    "croatian",
    "bulgarian",
    "lithuanian",
    "latin",
    "maori",
    "malayalam",
    "welsh",
    "slovak",
    "telugu",
    "persian",
    "latvian",
    "bengali",
    "serbian",
    "azerbaijani",
    "slovenian",
    "kannada",
    "estonian",
    "macedonian",
    "breton",
    "basque",
    "icelandic",
    "armenian",
    "nepali",
    "mongolian",
    "bosnian",
    "kazakh",
    "albanian",
    "swahili",
    "galician",
    "marathi",
    "punjabi",
    "sinhala",
    "khmer",
    "shona",
    "yoruba",
    "somali",
    "afrikaans",
    "occitan",
    "georgian",
    "belarusian",
    "tajik",
    "sindhi",
    "gujarati",
    "amharic",
    "yiddish",
    "lao",
    "uzbek",
    "faroese",
    "haitian creole",
    "pashto",
    "turkmen",
    "nynorsk",
    "maltese",
    "sanskrit",
    "luxembourgish",
    "myanmar",
    "tibetan",
    "tagalog",
    "malagasy",
    "assamese",
    "tatar",
    "hawaiian",
    "lingala",
    "hausa",
    "bashkir",
    "javanese",
    "sundanese",
];

/// The English name of a language code of [`WHISPER_LANGUAGES`] (`en` → `english`); `None`
/// for a code Whisper does not know.
pub fn language_name(code: &str) -> Option<&'static str> {
    WHISPER_LANGUAGES
        .iter()
        .position(|c| c.eq_ignore_ascii_case(code))
        .map(|i| WHISPER_LANGUAGE_NAMES[i])
}

/// A local Whisper model Smelt can serve (CTranslate2 format, installed by
/// `scripts/fetch-model.sh` into `<SMELT_MODELS_DIR>/<dir_name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelInfo {
    /// The name clients choose it by (`model` of `POST /api/smelts`).
    pub name: &'static str,
    /// Its directory under the models directory.
    pub dir_name: &'static str,
    /// The languages it hears (codes of [`WHISPER_LANGUAGES`]).
    pub languages: &'static [&'static str],
    /// Whether it can translate speech into English (`task=translate`); only multilingual
    /// models can.
    pub translates: bool,
    /// Size of its weights (`model.bin`), in bytes.
    pub size_bytes: u64,
    /// Beam width it decodes with unless the operator sets one (`SMELT_WHISPER_BEAM_SIZE`):
    /// greedy for tiny.en (its transcripts hardly change with a beam); 5, the reference's,
    /// for base, whose greedy decoding of synthetic and accented speech falls into the
    /// no-speech rule.
    pub beam_size: u16,
    /// Milliseconds of a job per minute of its audio, until the workers' pace is measured
    /// (the queue's estimates use it): tiny.en took 1.8 s and base 5.2 s per audio minute on
    /// a 2-core machine (BENCHMARKS.md), plus decoding and notes.
    pub default_ms_per_audio_minute: u32,
    /// One line for people choosing it.
    pub description: &'static str,
}

impl ModelInfo {
    /// Whether it hears `language`.
    pub fn hears(&self, language: &str) -> bool {
        self.languages.contains(&language)
    }

    /// Whether it can detect the language itself (`language=auto`): only multilingual models
    /// can; an English-only model takes `auto` as English.
    pub fn detects_language(&self) -> bool {
        self.languages.len() > 1
    }
}

/// Whisper tiny.en: English only, the fastest.
pub const TINY_EN: ModelInfo = ModelInfo {
    name: "tiny.en",
    dir_name: "whisper-tiny.en",
    languages: &["en"],
    translates: false,
    size_bytes: 75_537_502,
    beam_size: 1,
    default_ms_per_audio_minute: 2_500,
    description: "English only; the fastest",
};

/// Whisper base: 99 languages, translation into English, more accurate.
pub const BASE: ModelInfo = ModelInfo {
    name: "base",
    dir_name: "whisper-base",
    languages: &WHISPER_LANGUAGES,
    translates: true,
    size_bytes: 145_217_532,
    beam_size: 5,
    default_ms_per_audio_minute: 6_500,
    description: "99 languages and translation into English; more accurate, about 3× slower",
};

/// Every model Smelt knows, fastest first.
pub const MODELS: [ModelInfo; 2] = [TINY_EN, BASE];

/// The model named `name`, if Smelt knows it.
pub fn model(name: &str) -> Option<&'static ModelInfo> {
    MODELS.iter().find(|m| m.name == name)
}

/// What to make of the speech.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(utoipa::ToSchema)]
pub enum Task {
    /// A transcript in the language spoken.
    #[default]
    Transcribe,
    /// An English translation of the speech.
    Translate,
}

impl Task {
    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Transcribe => "transcribe",
            Task::Translate => "translate",
        }
    }
}

impl std::str::FromStr for Task {
    type Err = super::UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "transcribe" => Ok(Task::Transcribe),
            "translate" => Ok(Task::Translate),
            _ => Err(super::UnknownValue {
                kind: "task",
                value: s.to_owned(),
            }),
        }
    }
}

super::status::sqlx_text!(Task);

/// The language of a smelt's speech: detected by the model, or one the client chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LanguageChoice {
    /// Detected from the first 30 s of each file.
    Auto,
    /// This language (a code of [`WHISPER_LANGUAGES`]).
    Code(&'static str),
}

impl LanguageChoice {
    /// The wire spelling: `auto` or the code.
    pub fn as_str(&self) -> &'static str {
        match self {
            LanguageChoice::Auto => "auto",
            LanguageChoice::Code(code) => code,
        }
    }

    /// Reads a stored or wire spelling; anything unknown is `None`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "auto" => Some(LanguageChoice::Auto),
            code => WHISPER_LANGUAGES
                .iter()
                .find(|c| c.eq_ignore_ascii_case(code))
                .map(|c| LanguageChoice::Code(c)),
        }
    }
}

impl fmt::Display for LanguageChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A smelt's speech settings, checked against each other: the model hears the language and
/// can do the task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeechChoice {
    pub model: &'static ModelInfo,
    pub language: LanguageChoice,
    pub task: Task,
}

/// Why a speech choice was refused; the message names what is allowed (400 `invalid_data`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpeechChoiceError {
    #[error("model must be one of: {}", MODELS.iter().map(|m| m.name).collect::<Vec<_>>().join(", "))]
    UnknownModel,
    #[error("language must be auto or an ISO 639-1 code Whisper knows (e.g. en, de, es)")]
    UnknownLanguage,
    #[error("task must be transcribe or translate")]
    UnknownTask,
    #[error("model {model} hears only {allowed}; choose model base for {language}")]
    LanguageNotHeard {
        model: &'static str,
        allowed: String,
        language: &'static str,
    },
    #[error("model {0} cannot translate; use model base for task=translate")]
    CannotTranslate(&'static str),
}

impl SpeechChoice {
    /// Parses the three fields of a request; absent ones take `default_model`, `auto` and
    /// `transcribe`.
    ///
    /// # Errors
    /// [`SpeechChoiceError`] naming what is allowed.
    pub fn parse(
        model: Option<&str>,
        language: Option<&str>,
        task: Option<&str>,
        default_model: &'static ModelInfo,
    ) -> Result<Self, SpeechChoiceError> {
        let model = match model.map(str::trim).filter(|m| !m.is_empty()) {
            Some(name) => self::model(name).ok_or(SpeechChoiceError::UnknownModel)?,
            None => default_model,
        };
        let language = match language.map(str::trim).filter(|l| !l.is_empty()) {
            Some(l) => LanguageChoice::parse(l).ok_or(SpeechChoiceError::UnknownLanguage)?,
            None => LanguageChoice::Auto,
        };
        let task = match task.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => t.parse().map_err(|_| SpeechChoiceError::UnknownTask)?,
            None => Task::Transcribe,
        };
        if let LanguageChoice::Code(code) = language {
            if !model.hears(code) {
                return Err(SpeechChoiceError::LanguageNotHeard {
                    model: model.name,
                    allowed: model.languages.join(", "),
                    language: code,
                });
            }
        }
        if task == Task::Translate && !model.translates {
            return Err(SpeechChoiceError::CannotTranslate(model.name));
        }
        Ok(SpeechChoice {
            model,
            language,
            task,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_code_has_its_whisper_name() {
        assert_eq!(language_name("en"), Some("english"));
        assert_eq!(language_name("DE"), Some("german"));
        assert_eq!(language_name("haw"), Some("hawaiian"));
        assert_eq!(language_name("su"), Some("sundanese"));
        assert_eq!(language_name("xx"), None);
        assert!(WHISPER_LANGUAGE_NAMES.iter().all(|n| !n.is_empty()));
    }

    #[test]
    fn absent_fields_take_the_default_model_auto_and_transcribe() {
        let choice = SpeechChoice::parse(None, None, None, &TINY_EN).unwrap();
        assert_eq!(
            (choice.model.name, choice.language, choice.task),
            ("tiny.en", LanguageChoice::Auto, Task::Transcribe)
        );
    }

    #[test]
    fn an_english_only_model_refuses_other_languages_and_translation() {
        let german = SpeechChoice::parse(Some("tiny.en"), Some("de"), None, &BASE).unwrap_err();
        assert_eq!(
            german.to_string(),
            "model tiny.en hears only en; choose model base for de"
        );
        let translate =
            SpeechChoice::parse(Some("tiny.en"), None, Some("translate"), &BASE).unwrap_err();
        assert!(
            translate.to_string().contains("cannot translate"),
            "{translate}"
        );
    }

    #[test]
    fn the_multilingual_model_takes_any_whisper_language_in_any_case() {
        let choice =
            SpeechChoice::parse(Some("base"), Some("DE"), Some("translate"), &TINY_EN).unwrap();
        assert_eq!(choice.language, LanguageChoice::Code("de"));
        assert_eq!(choice.task, Task::Translate);
        assert_eq!(
            SpeechChoice::parse(Some("base"), Some("xx"), None, &TINY_EN).unwrap_err(),
            SpeechChoiceError::UnknownLanguage
        );
        assert_eq!(
            SpeechChoice::parse(Some("large"), None, None, &TINY_EN).unwrap_err(),
            SpeechChoiceError::UnknownModel
        );
    }
}
