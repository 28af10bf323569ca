"""Smelt's local engine beside faster-whisper on the same recordings, model, threads and beam.

Runs each engine as its own process per (recording set, beam, prompt mode), alternating the two
engines and repeating each pair REPEATS times; each process loads the model once, then
transcribes every file of the set (the clock runs per file, from reading the file to the last
segment: decoding, features and Whisper, as in a running worker). Prints one JSON line per
configuration with the medians, the Smelt/faster-whisper ratio of the medians, and each
engine's word error rate (jiwer, on lowercased words without punctuation).

Usage: compare.py SMELT_EXAMPLE_BIN MODEL_DIR WORK_DIR
Environment: REPEATS (3), THREADS (2), BEAMS (beam widths, "1 5"), EXTRAS (1: also prompting
with the previous text and word timings; 0: plain decoding only).
WORK_DIR holds the recordings made by compare.sh: long-*.wav and clip-*.wav with their .txt.
"""

import json
import os
import re
import statistics
import subprocess
import sys

import jiwer

SMELT, MODEL, WORK = sys.argv[1:4]
REPEATS = int(os.environ.get("REPEATS", "3"))
THREADS = os.environ.get("THREADS", "2")

FASTER_WHISPER = r"""
import json, sys, time
from faster_whisper import WhisperModel
model_dir, beam, condition, words, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4] == "1", int(sys.argv[5])
model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads)
for f in sys.argv[6:]:
    started = time.perf_counter()
    segments, info = model.transcribe(f, beam_size=beam, language="en", condition_on_previous_text=condition,
                                      word_timestamps=words, vad_filter=False)
    first, texts = None, []
    for s in segments:
        if first is None:
            first = time.perf_counter() - started
        texts.append(s.text.strip())
    print(json.dumps({"file": f, "audio_secs": info.duration, "wall_secs": time.perf_counter() - started,
                      "first_segment_secs": first, "text": " ".join(texts)}), flush=True)
"""


def normalise(text):
    text = text.lower().replace("harbour", "harbor").replace("neighbour", "neighbor")
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text).split())


def run(engine, files, beam, condition, words):
    if engine == "smelt":
        # English, as faster-whisper is told: no language detection on either side.
        cmd = [SMELT, "--model", MODEL, "--threads", THREADS, "--beam-size", str(beam), "--language", "en"]
        cmd += ["--condition-on-previous-text"] if condition else []
        cmd += ["--word-timestamps"] if words else []
    else:
        cmd = [sys.executable, "-c", FASTER_WHISPER, MODEL, str(beam), "1" if condition else "0",
               "1" if words else "0", THREADS]
    out = subprocess.run(cmd + files, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def summary(runs, files):
    """Median wall time per run of the set, RTF, first segment and WER (of the last run)."""
    walls = [sum(r["wall_secs"] for r in rs) for rs in runs]
    audio = sum(r["audio_secs"] for r in runs[0])
    refs = [normalise(open(f[:-4] + ".txt").read()) for f in files]
    hyps = [normalise(r["text"]) for r in runs[-1]]
    firsts = [rs[0]["first_segment_secs"] for rs in runs if rs[0]["first_segment_secs"]]
    return {
        "wall_secs": round(statistics.median(walls), 3),
        "wall_min_max": [round(min(walls), 3), round(max(walls), 3)],
        "audio_secs": round(audio, 1),
        "real_time_factor": round(statistics.median(walls) / audio, 4),
        "first_segment_secs": round(statistics.median(firsts), 3) if firsts else None,
        "wer": round(jiwer.wer(refs, hyps), 4),
    }


def main():
    sets = {
        "long": sorted(os.path.join(WORK, f) for f in os.listdir(WORK) if f.startswith("long-") and f.endswith(".wav")),
        "clips": sorted(os.path.join(WORK, f) for f in os.listdir(WORK) if f.startswith("clip-") and f.endswith(".wav")),
    }
    beams = [int(b) for b in os.environ.get("BEAMS", "1 5").split()]
    extras = os.environ.get("EXTRAS", "1") == "1"
    conditions = (False, True) if extras else (False,)
    configs = [(beam, condition, False) for beam in beams for condition in conditions]
    if extras:
        configs.append((beams[0], False, True))
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    for name, files in sets.items():
        for beam, condition, words in configs:
            if name == "clips" and (condition or words):
                continue  # one window per clip: no previous text, word timings measured on long audio
            runs = {"smelt": [], "faster-whisper": []}
            for _ in range(REPEATS):
                for engine in runs:
                    runs[engine].append(run(engine, files, beam, condition, words))
            smelt, fw = summary(runs["smelt"], files), summary(runs["faster-whisper"], files)
            print(json.dumps({
                "set": name, "files": len(files), "beam_size": beam, "condition_on_previous_text": condition,
                "word_timestamps": words, "threads": int(THREADS), "repeats": REPEATS, "load_at_start": load,
                "smelt": smelt, "faster_whisper": fw,
                "wall_ratio_smelt_over_fw": round(smelt["wall_secs"] / fw["wall_secs"], 3),
            }), flush=True)


main()
