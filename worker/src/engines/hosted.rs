//! Engines over an OpenAI-compatible API: transcription in chunks that respect the providers'
//! 25 MiB request limit, and synthesis with a written prompt per format, map-reduced over
//! transcripts longer than the model's context.

use std::io::Cursor;
use std::sync::Arc;

use smelt_core::domain::speech::{LanguageChoice, ModelInfo, Task};
use smelt_core::domain::PromptName;
use smelt_core::dto::WordDto;
use tokio::sync::mpsc;

use super::openai::{OpenAiClient, ProviderError, ProviderTranscript};
use super::{
    chunking, Chunk, EngineError, HeardLanguage, Instruction, Segment, SynthesisRequest,
    Synthesizer, Transcriber, TranscriptionRequest,
};
use crate::audio::TARGET_SAMPLE_RATE;

/// Longest audio per transcription request, in seconds, by default: 10 minutes of 16 kHz
/// 16-bit mono WAV is ~19 MB, under the 25 MiB request limit of OpenAI's endpoint.
pub const CHUNK_SECONDS: usize = 600;

impl From<ProviderError> for EngineError {
    fn from(e: ProviderError) -> Self {
        match e {
            ProviderError::KeyInvalid => EngineError::KeyInvalid,
            ProviderError::RateLimited { retry_after_secs } => {
                EngineError::RateLimited { retry_after_secs }
            }
            ProviderError::QuotaExhausted => EngineError::QuotaExhausted,
            ProviderError::Unavailable(detail) => EngineError::Unavailable(detail),
            ProviderError::Failed(detail) => EngineError::Failed(detail),
        }
    }
}

/// Encodes 16 kHz mono samples as 16-bit PCM WAV (hound).
pub fn wav_bytes(samples: &[f32]) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: TARGET_SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = Cursor::new(Vec::with_capacity(44 + samples.len() * 2));
    {
        let mut writer = hound::WavWriter::new(&mut out, spec).expect("writing to memory");
        for s in samples {
            writer
                .write_sample((s.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16)
                .expect("writing to memory");
        }
        writer.finalize().expect("writing to memory");
    }
    out.into_inner()
}

/// Transcription through `POST /audio/transcriptions`.
pub struct HostedTranscriber {
    pub client: Arc<OpenAiClient>,
    pub model: String,
    /// Who pays: `own-key` or `operator`, recorded in the engine name.
    pub account: &'static str,
    /// Longest audio per request, in seconds ([`CHUNK_SECONDS`] unless configured).
    pub chunk_seconds: usize,
}

#[async_trait::async_trait]
impl Transcriber for HostedTranscriber {
    fn name(&self, _model: &ModelInfo) -> String {
        format!("hosted:{}:{}", self.account, self.model)
    }

    /// The provider runs its own model whatever the smelt chose: every choice is served.
    fn models(&self) -> Vec<&'static str> {
        smelt_core::domain::speech::MODELS
            .iter()
            .map(|m| m.name)
            .collect()
    }

    /// Request after request, each cut where [`chunking`] says so that no word is lost or
    /// doubled at a cut; each request's final segments go out as one [`Chunk`].
    async fn transcribe(
        &self,
        request: TranscriptionRequest,
        chunks: mpsc::Sender<Chunk>,
    ) -> Result<(), EngineError> {
        let samples = &request.samples;
        // The provider is told a chosen language; a detected one is not reported back in a
        // form we can rely on, so with `auto` the language stays unknown.
        let language = match request.language {
            LanguageChoice::Code(code) => Some(HeardLanguage {
                code,
                probability: None,
            }),
            LanguageChoice::Auto => None,
        };
        let max_len = self.chunk_seconds.max(1) * SAMPLES_PER_SECOND;
        let mut start = (request.start_ms as usize * SAMPLES_PER_SECOND / 1000).min(samples.len());
        while start < samples.len() {
            let end = chunking::chunk_end(samples, start, max_len);
            let (start_ms, end_ms) = (ms_at(start), ms_at(end));
            let transcript = self
                .client
                .transcribe(
                    wav_bytes(&samples[start..end]),
                    &self.model,
                    request.word_timestamps,
                    language.map(|l| l.code),
                    request.task == Task::Translate,
                )
                .await?;
            let segments = segments_of(transcript, start_ms, (end_ms - start_ms) as usize);
            let (segments, next_ms) =
                chunking::settle(segments, start_ms, end_ms, end == samples.len());
            if chunks
                .send(Chunk {
                    segments,
                    end_ms: next_ms,
                    language,
                })
                .await
                .is_err()
            {
                return Ok(());
            }
            start = if next_ms >= end_ms {
                end
            } else {
                (next_ms as usize * SAMPLES_PER_SECOND / 1000).clamp(start + 1, end)
            };
        }
        Ok(())
    }
}

/// Milliseconds from the start of the recording of a sample index.
fn ms_at(sample: usize) -> u32 {
    (sample * 1000 / SAMPLES_PER_SECOND) as u32
}

/// 16 kHz mono.
const SAMPLES_PER_SECOND: usize = TARGET_SAMPLE_RATE as usize;

/// A provider's answer for one request as segments of the file: times moved by `offset_ms`,
/// each word given to the segment it starts in. A provider that returns only text gives one
/// segment over the whole request (`length_ms`).
fn segments_of(transcript: ProviderTranscript, offset_ms: u32, length_ms: usize) -> Vec<Segment> {
    let ms = |secs: f64| offset_ms + (secs * 1000.0).round() as u32;
    let mut segments: Vec<Segment> = transcript
        .segments
        .iter()
        .filter(|s| !s.text.is_empty())
        .map(|s| Segment {
            start_ms: ms(s.start_secs),
            end_ms: ms(s.end_secs),
            text: s.text.clone(),
            words: transcript.words.as_ref().map(|_| Vec::new()),
        })
        .collect();
    if segments.is_empty() && !transcript.text.is_empty() {
        segments.push(Segment {
            start_ms: offset_ms,
            end_ms: offset_ms + length_ms as u32,
            text: transcript.text.clone(),
            words: transcript.words.as_ref().map(|_| Vec::new()),
        });
    }
    for word in transcript.words.into_iter().flatten() {
        let at = ms(word.start_secs);
        let owner = segments.iter().rposition(|s| s.start_ms <= at).unwrap_or(0);
        if let Some(list) = segments.get_mut(owner).and_then(|s| s.words.as_mut()) {
            list.push(WordDto {
                word: word.word,
                start_ms: at,
                end_ms: ms(word.end_secs),
                probability: None,
            });
        }
    }
    segments
}

/// The system prompt of each built-in format.
pub fn template(prompt: PromptName) -> &'static str {
    match prompt {
        PromptName::Summarize => {
            "Summarise the transcript. Reply in Markdown: a `# Summary` heading, one paragraph of \
             3-5 sentences, then `## Key points` with 3-7 bullets. Use only facts in the text."
        }
        PromptName::ActionItems => {
            "List the action items in the transcript. Reply in Markdown: `# Action items`, then a \
             checklist `- [ ] task — **Owner:** name, **Due:** date`, leaving out owner or date \
             when the text does not say. If there are none, write `No action items found.`"
        }
        PromptName::DetailedNotes => {
            "Write detailed notes of the transcript. Reply in Markdown: `# Detailed notes`, then a \
             `## ` heading per topic in the order discussed, with bullets of the facts, numbers \
             and decisions under each."
        }
        PromptName::QaFormat => {
            "Turn the transcript into questions and answers. Reply in Markdown: `# Questions and \
             answers`, then pairs of `**Q:** …` and `**A:** …` lines covering the main points, \
             answering only from the text."
        }
        PromptName::TableOfContents => {
            "Write a table of contents of the transcript. Reply in Markdown: `# Table of \
             contents`, then a numbered list of topics in order; when lines carry `[mm:ss]` \
             timestamps, start each entry with the timestamp where its topic begins."
        }
    }
}

/// Synthesis through `POST /chat/completions`.
pub struct HostedSynthesizer {
    pub client: Arc<OpenAiClient>,
    pub model: String,
    pub account: &'static str,
    /// Longest text sent in one request, in characters; longer transcripts are summarised in
    /// chunks, then the partial results are combined.
    pub context_chars: usize,
}

impl HostedSynthesizer {
    /// The system prompt for an instruction.
    fn system(instruction: &Instruction) -> String {
        match instruction {
            Instruction::Prompt(p) => template(*p).to_owned(),
            Instruction::Custom { title, body } => {
                format!("{body}\n\nReply in Markdown, starting with a `# {title}` heading. Use only facts in the text.")
            }
        }
    }

    /// The text the model reads: timestamped lines for audio, so tables of contents can
    /// carry times.
    fn source(request: &SynthesisRequest) -> String {
        match &request.segments {
            Some(segments) if !segments.is_empty() => segments
                .iter()
                .map(|s| {
                    format!(
                        "[{:02}:{:02}] {}",
                        (s.start_secs as u64) / 60,
                        (s.start_secs as u64) % 60,
                        s.text
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            _ => request.text.clone(),
        }
    }
}

/// Splits text into pieces of at most `max` characters at line or sentence ends.
pub fn chunks(text: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for piece in text.split_inclusive(['\n', '.', '?', '!']) {
        if !current.is_empty() && current.chars().count() + piece.chars().count() > max {
            out.push(std::mem::take(&mut current));
        }
        current.push_str(piece);
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

#[async_trait::async_trait]
impl Synthesizer for HostedSynthesizer {
    fn name(&self) -> String {
        format!("hosted:{}:{}", self.account, self.model)
    }

    async fn synthesize(&self, request: SynthesisRequest) -> Result<String, EngineError> {
        let system = Self::system(&request.instruction);
        let source = Self::source(&request);
        let parts = chunks(&source, self.context_chars.max(1_000));
        if parts.len() <= 1 {
            return Ok(self.client.chat(&self.model, &system, &source).await?);
        }
        // Map: the same instruction over each part; reduce: merge the partial documents.
        let mut partials = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let header = format!(
                "Part {} of {} of a longer transcript.\n\n",
                i + 1,
                parts.len()
            );
            partials.push(
                self.client
                    .chat(&self.model, &system, &(header + part))
                    .await?,
            );
        }
        let merge = format!("{system}\n\nYou are given partial results for consecutive parts of one transcript. Merge them into one document in that format, removing repetition.");
        Ok(self
            .client
            .chat(&self.model, &merge, &partials.join("\n\n---\n\n"))
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_chunked_at_sentence_ends_within_the_limit() {
        let text = "One sentence here. ".repeat(200);
        let parts = chunks(&text, 1_000);
        assert!(parts.len() > 1);
        assert!(parts
            .iter()
            .all(|p| p.chars().count() <= 1_000 && p.trim_end().ends_with('.')));
        assert_eq!(parts.concat(), text);
    }

    #[test]
    fn wav_encoding_is_16_bit_mono_at_16_khz() {
        let wav = wav_bytes(&vec![0.5; 16_000]);
        let reader = hound::WavReader::new(Cursor::new(wav)).unwrap();
        let spec = reader.spec();
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (1, 16_000, 16)
        );
        assert_eq!(reader.duration(), 16_000);
    }
}
