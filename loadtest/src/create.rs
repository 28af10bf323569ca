//! `create`: `POST /api/smelts` with pasted text at a fixed rate, open loop.
//!
//! Request `i` is due `i / rate` seconds after the start and is sent then whatever the earlier
//! ones are doing; its latency runs from the due time to the end of its response, so a stalled
//! server (or a stalled client) shows in the numbers instead of silently lowering the rate.
//! Requests of the warm-up are sent the same way and left out of the figures.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{ensure, Context};
use smelt_core::credits::WEEKLY_CREDITS;
use smelt_core::tokens::TokenKeys;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::accounts::{self, User};
use crate::addresses::{self, SourceAddresses};
use crate::args::{CreateArgs, Credits};
use crate::cpu::CpuSample;
use crate::latency::Latencies;
use crate::report::{Conditions, CreateConfig, CreateReport, RequestCounts};
use crate::{progress, provider, rss};

/// Posted when no `--text-file` is given: a meeting excerpt of ~1.3 KB.
const MEETING: &str = "Alice: Thanks for joining. Today we need to settle the budget for the \
autumn campaign and agree who owns the launch checklist. Bob: The draft budget is at forty \
thousand, which is five thousand over what finance approved in March. Alice: Where does the \
gap come from? Bob: Mostly the video production. The agency raised its day rate, and we asked \
for two extra cuts for social media. Carol: We could drop one of the cuts; the analytics show \
the short vertical format performs far better than the square one. Alice: Good, let's drop the \
square cut. Bob, can you send the revised budget to finance by Friday? Bob: Yes, I will send it \
by Friday noon. Carol: I also need a decision on the landing page. Design delivered two \
versions and the second one tested better with the panel. Alice: Then we go with the second \
version. Carol, please brief the developers tomorrow. Carol: Will do. One risk: the translation \
vendor needs the final copy two weeks before launch, so copy freeze is the fourteenth. Alice: \
Noted. Dave, you own the launch checklist; please share it with everyone by Wednesday and flag \
anything blocked. Dave: Understood. I will also book the retrospective for the week after \
launch. Alice: Great. To recap: Bob sends the revised budget by Friday, Carol briefs developers \
tomorrow, copy freeze on the fourteenth, Dave shares the checklist by Wednesday. Thanks all.";

/// One request's end.
struct Done {
    /// Part of the measured window (not the warm-up).
    measured: bool,
    /// Sent after its due time (µs).
    send_lag_us: u64,
    /// Due → response read (µs).
    latency_us: u64,
    /// Sent → response read (µs).
    service_us: u64,
    /// Status, or the reason there was none.
    outcome: Result<u16, String>,
}

/// Runs a create measurement.
pub async fn run(args: CreateArgs) -> anyhow::Result<CreateReport> {
    ensure!(args.rate > 0.0, "--rate must be positive");
    let conditions = Conditions::now();
    let server = addresses::loopback_server(&args.server.server).await?;
    let server_pid = args
        .server
        .server_pid
        .or_else(|| rss::pid_listening_on(server.port()));
    let text = match &args.text_file {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => MEETING.to_owned(),
    };
    let keys = TokenKeys::new(args.server.jwt_secret()?.as_bytes());
    let warmup = (args.rate * args.warmup_secs as f64).round() as u64;
    let total = warmup + (args.rate * args.duration_secs as f64).round() as u64;
    let ttl = args.warmup_secs + args.duration_secs + 3_600;
    let timeout = Duration::from_secs(args.timeout_secs);

    // Users allowed to create every request of the run.
    let setup = reqwest::Client::builder().timeout(timeout).build()?;
    let spinner = progress::spinner("users");
    let (users, _provider) = match args.credits {
        Credits::OwnKey => {
            let (base_url, task) = provider::serve().await?;
            let users = accounts::new_users(&keys, args.users.max(1), ttl);
            spinner.set_message(format!("saving {} own API keys", users.len()));
            accounts::save_own_keys(&setup, &server.to_string(), &users, &base_url).await?;
            (users, Some(task))
        }
        Credits::Weekly => {
            let users =
                accounts::new_users(&keys, total.div_ceil(WEEKLY_CREDITS as u64) as usize, ttl);
            spinner.set_message(format!("opening {} profiles", users.len()));
            accounts::open_profiles(&setup, &server.to_string(), &users, WEEKLY_CREDITS.into())
                .await?;
            (users, None)
        }
    };
    spinner.finish_with_message(format!("{} users", users.len()));

    let sources = SourceAddresses::new(1, server);
    let clients: Vec<reqwest::Client> = (0..args.addresses.max(1))
        .map(|a| {
            reqwest::Client::builder()
                .local_address(sources.of(a))
                .tcp_nodelay(true)
                .timeout(timeout)
                .build()
        })
        .collect::<Result<_, _>>()?;

    let rss_before = server_pid.and_then(rss::rss_bytes);
    let bar = progress::bar("create", total);
    let mut tasks = JoinSet::new();
    let start = Instant::now() + Duration::from_millis(50);
    let measured_from = start + Duration::from_secs(args.warmup_secs);
    let mut cpu_before = None;
    let mut done = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / args.rate);
        tokio::time::sleep_until(due).await;
        let measured = i >= warmup;
        if measured && cpu_before.is_none() {
            cpu_before = Some(CpuSample::take(server_pid.as_slice()));
        }
        let client = clients[i as usize % clients.len()].clone();
        let user = pick_user(&users, args.credits, i).clone();
        let text = text.clone();
        tasks.spawn(post(client, server, user, text, due, measured));
        bar.inc(1);
        while let Some(d) = tasks.try_join_next() {
            done.push(d.context("a request task failed")?);
        }
    }
    let collect_started = Instant::now();
    bar.set_message("waiting for the last responses");
    while let Some(d) = tasks.join_next().await {
        done.push(d.context("a request task failed")?);
    }
    let cpu = CpuSample::take(server_pid.as_slice()).since(&cpu_before.unwrap_or_default());
    let measured_secs = (collect_started.max(measured_from) - measured_from).as_secs_f64();
    bar.finish();
    let rss_after = server_pid.and_then(rss::rss_bytes);

    let mut latency = Latencies::default();
    let mut service = Latencies::default();
    let mut send_lag = Latencies::default();
    let mut status: BTreeMap<u16, u64> = BTreeMap::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for d in done.iter().filter(|d| d.measured) {
        send_lag.record_micros(d.send_lag_us);
        match &d.outcome {
            Ok(code) => {
                *status.entry(*code).or_default() += 1;
                latency.record_micros(d.latency_us);
                service.record_micros(d.service_us);
            }
            Err(e) => *errors.entry(e.clone()).or_default() += 1,
        }
    }
    let completed: u64 = status.values().sum();
    Ok(CreateReport {
        mode: "create",
        conditions,
        config: CreateConfig {
            rate: args.rate,
            duration_secs: args.duration_secs,
            warmup_secs: args.warmup_secs,
            credits: match args.credits {
                Credits::OwnKey => "own-key",
                Credits::Weekly => "weekly",
            }
            .to_owned(),
            users: users.len(),
            source_addresses: clients.len(),
            text_bytes: text.len(),
        },
        requests: RequestCounts {
            scheduled: total - warmup,
            status,
            errors,
        },
        latency: latency.summary(),
        service_time: service.summary(),
        send_lag: send_lag.summary(),
        completed_per_sec: if measured_secs > 0.0 {
            completed as f64 / measured_secs
        } else {
            0.0
        },
        server_rss_before_bytes: rss_before,
        server_rss_after_bytes: rss_after,
        cpu,
    })
}

/// The user of request `i`: round-robin over own-key users; with weekly credits, each user
/// makes exactly as many requests as a week's credits.
fn pick_user(users: &[User], credits: Credits, i: u64) -> &User {
    match credits {
        Credits::OwnKey => &users[i as usize % users.len()],
        Credits::Weekly => &users[(i / WEEKLY_CREDITS as u64) as usize % users.len()],
    }
}

/// Sends one create request and reads its whole response.
async fn post(
    client: reqwest::Client,
    server: SocketAddr,
    user: User,
    text: String,
    due: Instant,
    measured: bool,
) -> Done {
    let sent = Instant::now();
    let form = reqwest::multipart::Form::new()
        .text("text", text)
        .text("default_prompt_names[]", "summarize")
        .text("default_prompt_names[]", "action_items");
    let response = client
        .post(format!("http://{server}/api/smelts"))
        .bearer_auth(&user.token)
        .multipart(form)
        .send()
        .await;
    let outcome = match response {
        Ok(r) => {
            let code = r.status().as_u16();
            match r.bytes().await {
                Ok(_) => Ok(code),
                Err(e) => Err(describe(&e)),
            }
        }
        Err(e) => Err(describe(&e)),
    };
    let end = Instant::now();
    Done {
        measured,
        send_lag_us: sent.saturating_duration_since(due).as_micros() as u64,
        latency_us: end.saturating_duration_since(due).as_micros() as u64,
        service_us: end.saturating_duration_since(sent).as_micros() as u64,
        outcome,
    }
}

/// A short reason for a request without a response.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".to_owned()
    } else if e.is_connect() {
        "connect".to_owned()
    } else {
        "other".to_owned()
    }
}
