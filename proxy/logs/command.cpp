#include "proxy/logs/command.hpp"

#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <iostream>
#include <tuple>
#include <utility>
#include <vector>

#include "proxy/logs/follow.hpp"
#include "proxy/logs/ingest.hpp"
#include "proxy/logs/output_file.hpp"
#include "proxy/logs/reader.hpp"
#include "proxy/logs/report.hpp"
#include "proxy/logs/review_builder.hpp"
#include "proxy/logs/stop_signal.hpp"
#include "proxy/review/render.hpp"

namespace rdpbridge::logs {

namespace {

// When several apply, the highest is returned.
constexpr int kExitUnreadable = 1;
constexpr int kExitUsage = 2;
constexpr int kExitNotALog = 3;
// How quickly --follow notices new lines and signals; a stat and a read per poll.
constexpr std::chrono::milliseconds kPollInterval{200};

constexpr const char* kFooter = R"help(
Reads handshake logs (JSON Lines, as written by `rdpbridge run`), including rotated ones
(handshake.1.jsonl) and gzip-compressed ones (*.gz), and prints: connections, established
sessions and failures per backend ("(none)": failed before a backend was chosen); the failures
grouped by stage and cause, most frequent first, each with what happened, the fix, when it was
first and last seen and up to 3 examples (connection id, client address, detail); handshake
time p50/p95 per backend; and, when a backend's channel policy removed channels, refused rdpdr
devices or withheld messages, what it kept from the host (not counted as failures).
Files may overlap (a rotated file and a copy, a file given twice): each event counts once.
Lines that are not handshake events are counted and skipped. The vocabulary of stages and
causes: docs/diagnosis.md; the --json schema: docs/logs.md.

A --backend that no event names is not an error (it may be configured but unused so far):
the report says so and lists the backends the files name.

--since and --until take a duration back from now (30m, 2h, 1d), an RFC 3339 time
(2026-12-04T10:00:00Z, 2026-12-04T11:00:00+01:00) or a local date-time in the time zone in
effect (TZ): "2026-12-04 10:00", 2026-12-04T10:00, 2026-12-04 (its midnight). Times in the
report are UTC, as in the log.

--follow then keeps reading the last FILE as the gateway appends to it (surviving rotation)
and prints each new failure with its fix, until Ctrl-C or SIGTERM; --since, --until apply only
to the summary.

--html OUT.html writes the review as one self-contained page instead (no external asset: it
opens offline, from a mail or a ticket): each backend's state, last success and failure,
security per leg, certificate days left and host identity; failures over the last 24 hours and
7 days per cause, charted; what each cause means and its fix; the newest 200 failures, whole.
"Last" ends at the newest event in the files, or at --until. OUT.html is replaced whole (a
temporary file renamed over it).

Exit codes: 0 success (also for an empty FILE: nothing to report yet), 1 a FILE could not be
read (or OUT.html written), 2 usage error, 3 a FILE is not a handshake log (none of its lines
was a handshake event: the wrong file); the report covers the other files. When several apply,
the highest.

Examples:
  rdpbridge logs /var/log/rdpbridge/handshake*.jsonl*
  rdpbridge logs --since 2h --backend win7 /var/log/rdpbridge/handshake.jsonl
  rdpbridge logs --since 1d --json /var/log/rdpbridge/handshake.jsonl > report.json
  rdpbridge logs --since "2026-12-04 08:00" --until "2026-12-04 12:00" handshake*.jsonl*
  rdpbridge logs --html report.html /var/log/rdpbridge/handshake*.jsonl*
  rdpbridge logs --follow /var/log/rdpbridge/handshake.jsonl)help";

CLI::Validator time_validator() {
    return CLI::Validator(
        [](std::string& text) {
            return parse_time_arg(text)
                       ? std::string()
                       : "\"" + text +
                             "\" is not a time: give a duration back from now (30m, 2h, 1d), an "
                             "RFC 3339 time (2026-12-04T10:00:00Z, 2026-12-04T11:00:00+01:00) or "
                             "a local date-time (\"2026-12-04 10:00\", 2026-12-04T10:00, "
                             "2026-12-04)";
        },
        "");  // no description: the option's help already says what TIME is
}

// Which file a path names (device and inode), so that a FILE given twice, or under two names,
// is read once; nullopt when it cannot be told (reading it then reports why).
using FileId = std::pair<dev_t, ino_t>;
std::optional<FileId> file_id(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return FileId{st.st_dev, st.st_ino};
}

// For each FILE, the index of the FILE that stands for it when it is the same file as another:
// the followed one (read by the follower), else its first mention.
std::vector<std::optional<std::size_t>> read_as(const std::vector<std::string>& files,
                                                bool follow) {
    std::vector<std::optional<FileId>> ids;
    for (const auto& f : files) ids.push_back(file_id(f));
    std::vector<std::optional<std::size_t>> as(files.size());
    const std::size_t last = files.size() - 1;
    for (std::size_t i = 0; i < files.size(); ++i) {
        if (!ids[i]) continue;
        if (follow && i != last && ids[i] == ids[last]) {
            as[i] = last;
            continue;
        }
        for (std::size_t j = 0; j < i && !as[i]; ++j)
            if (ids[j] == ids[i]) as[i] = j;
    }
    return as;
}

bool is_compressed_name(const std::string& file) {
    return file.size() > 3 && file.compare(file.size() - 3, 3, ".gz") == 0;
}

// The options as a Filter, or nullopt after saying on stderr why they select nothing.
std::optional<Filter> make_filter(const Options& o) {
    using namespace std::chrono;
    const TimePoint now = floor<milliseconds>(system_clock::now());
    Filter f;
    for (auto [option, text, bound] :
         {std::tuple{"--since", &o.since, &f.since}, std::tuple{"--until", &o.until, &f.until}}) {
        if (text->empty()) continue;
        *bound = resolve_time_arg(*parse_time_arg(*text), now);  // parsed by the validator
        if (!*bound) {
            std::cerr << "rdpbridge logs: " << option << " " << *text
                      << ": not a time in this time zone\n";
            return std::nullopt;
        }
    }
    if (f.since && f.until && *f.since >= *f.until) {
        std::cerr << "rdpbridge logs: --since " << o.since << " (" << format_timestamp(*f.since)
                  << ") is not before --until " << o.until << " (" << format_timestamp(*f.until)
                  << "): no event can be in between\n";
        return std::nullopt;
    }
    if (!o.backend.empty()) f.backend = o.backend;
    return f;
}

void report_unreadable(const std::string& file, const std::string& why) {
    std::cerr << "rdpbridge logs: cannot read " << file << ": " << why << "\n";
}

void report_not_a_log(const std::string& file) {
    std::cerr << "rdpbridge logs: " << file
              << ": not a handshake log: no line was a rdpbridge handshake event (JSON Lines "
                 "with \"event\" and \"conn\"); expected the file given to [logging] "
                 "handshake_log\n";
}

// The exit status of what happened to one FILE, raising `status` to it.
void judge(int& status, const std::string& file, const std::optional<std::string>& error,
           bool is_log) {
    if (error) {
        report_unreadable(file, *error);
        status = std::max(status, kExitUnreadable);
    } else if (!is_log) {
        report_not_a_log(file);
        status = std::max(status, kExitNotALog);
    }
}

// Reads the first `count` FILEs whole into `sink`, each file once; returns the exit status of
// what happened to them.
int read_whole(const std::vector<std::string>& files, std::size_t count,
               const std::vector<std::optional<std::size_t>>& same_as, EventSink& sink) {
    int status = 0;
    for (std::size_t i = 0; i < count; ++i) {
        // Events would count once anyway; reading once also keeps malformed lines single.
        if (same_as[i]) {
            const auto& other = files[*same_as[i]];
            std::cerr << "rdpbridge logs: " << files[i]
                      << (other == files[i] ? " is given more than once"
                                            : " is the same file as " + other)
                      << "; read once\n";
            continue;
        }
        FileIngest ingest(sink, files[i]);
        const auto error = read_lines(files[i], ingest.lines());
        judge(status, files[i], error, ingest.finish());
    }
    return status;
}

// --html: the review page from the files, written to OUT.html.
int html_report(const Options& o, const Filter& filter) {
    ReviewBuilder builder(filter);
    int status = read_whole(o.files, o.files.size(), read_as(o.files, false), builder);
    const Summary summary = builder.summary();
    if (summary.backend_unknown)
        std::cerr << "rdpbridge logs: " << unknown_backend_note(summary, o.backend) << "\n";
    // The one use of the clock: the time the page says it was generated.
    const auto now =
        std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
    const auto page = review::render_html(builder.build(o.files, format_timestamp(now)));
    if (const auto error = write_file_atomically(o.html, page)) {
        std::cerr << "rdpbridge logs: --html " << o.html << ": " << *error << "\n";
        return std::max(status, kExitUnreadable);
    }
    std::cout << "wrote " << o.html << " (" << summary.events
              << (summary.events == 1 ? " event, " : " events, ") << summary.total.failed
              << (summary.total.failed == 1 ? " failure)" : " failures)") << std::endl;
    return status;
}

// Prints new failures as they are appended, until a stop signal.
void follow(Follower& follower, const Options& o) {
    FailureFeed feed(
        o.backend.empty() ? std::nullopt : std::optional<std::string>(o.backend),
        [&](const Event& e, const std::string& backend) {
            std::cout << (o.json ? json_failure_line(e, backend) : human_failure_line(e, backend))
                      << std::endl;  // flushed per failure: whoever watches sees it now
        },
        [](const LineRef& where) {
            std::cerr << "rdpbridge logs: malformed line skipped at " << where.file << ":"
                      << where.line << "\n";
        });
    const auto on_line = feed.lines_of(follower.path().string());
    std::cerr << "rdpbridge logs: following " << follower.path().string()
              << " for new failures (Ctrl-C to stop)" << std::endl;
    while (!stop_requested()) {
        follower.poll(on_line);
        sleep_unless_stopped(kPollInterval);
    }
}

}  // namespace

CLI::App* add_command(CLI::App& app, Options& o) {
    auto* cmd = app.add_subcommand(
        "logs",
        "Review handshake logs: connections and failures per backend, failures grouped by "
        "stage and cause with their fixes, handshake times; --follow for new failures, --html "
        "for one page with charts.");
    cmd->footer(kFooter);
    cmd->add_option("files", o.files, "Handshake log files: plain, rotated or .gz")->required();
    cmd->add_option("--since", o.since,
                    "Only events at or after TIME: a duration back from now (90s, 30m, 1h, 2d, "
                    "1w, 1h30m), RFC 3339 (2026-12-04T10:00:00Z, with an offset) or local "
                    "(\"2026-12-04 10:00\", 2026-12-04T10:00, 2026-12-04 = midnight)")
        ->check(time_validator())
        ->type_name("TIME");
    cmd->add_option("--until", o.until,
                    "Only events before TIME (same forms as --since; 2h: older than 2 hours)")
        ->check(time_validator())
        ->type_name("TIME");
    cmd->add_option("--backend", o.backend,
                    "Only connections routed to this backend (\"(none)\": failed before routing)")
        ->type_name("NAME");
    auto* json = cmd->add_flag(
        "--json", o.json, "Print one JSON document (schema rdpbridge.logs/1, see docs/logs.md)");
    auto* follow = cmd->add_flag("--follow", o.follow,
                                 "After the summary, print each new failure in the last FILE as "
                                 "it is written, until Ctrl-C/SIGTERM");
    cmd->add_option("--html", o.html,
                    "Write the review as one self-contained HTML page to OUT (backends, failures "
                    "over time by cause, causes and fixes, recent failures) instead of printing")
        ->type_name("OUT")
        ->excludes(json)
        ->excludes(follow);
    return cmd;
}

int run(const Options& o) {
    if (o.follow && is_compressed_name(o.files.back())) {
        std::cerr << "rdpbridge logs: --follow reads the last FILE as it grows, but "
                  << o.files.back() << " is compressed; put the live log last\n";
        return kExitUsage;
    }
    // Before any reading, so a signal during the first pass does not kill us mid-report.
    if (o.follow) install_stop_handlers();

    const auto filter = make_filter(o);
    if (!filter) return kExitUsage;
    if (!o.html.empty()) return html_report(o, *filter);
    const Scope scope{o.files, *filter};
    Aggregator aggregator(scope.filter);
    const std::size_t whole = o.follow ? o.files.size() - 1 : o.files.size();
    int status = read_whole(o.files, whole, read_as(o.files, o.follow), aggregator);
    std::optional<Follower> follower;
    if (o.follow) {
        // The followed file's existing lines go into the summary through the follower itself,
        // so that no line falls between the summary and the first new failure.
        follower.emplace(o.files.back());
        FileIngest ingest(aggregator, o.files.back());
        const auto error = follower->poll(ingest.lines());
        const bool is_log = ingest.finish();
        judge(status, o.files.back(), error, is_log);
        if (error || !is_log) follower.reset();  // nothing worth following
    }

    const Summary summary = aggregator.summary();
    std::cout << (o.json ? json_report(summary, scope, o.follow) : human_report(summary, scope))
              << std::flush;
    // The human report says it; a JSON reader may be a script whose author should hear it.
    if (o.json && summary.backend_unknown)
        std::cerr << "rdpbridge logs: " << unknown_backend_note(summary, o.backend) << "\n";
    if (follower) follow(*follower, o);
    return status;
}

}  // namespace rdpbridge::logs
