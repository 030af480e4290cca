// `factlog events` (a snapshot of the log) and `factlog watch` (the log live).
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "client/format.h"
#include "client/format_events.h"
#include "client/subcommands.h"
#include "client/watch.h"

namespace factlog::cli {
namespace {

// --claim, --subject, --claimant and --type: which events `events` and
// `watch` show.
struct EventFilterFlags {
  std::string claim_id, subject, claimant;
  std::vector<std::string> types;
};

// --type takes lower-case names with dashes, repeatable or comma-separated;
// an unknown name is a usage error.
void AddEventFilterFlags(CLI::App* sub, EventFilterFlags* flags) {
  sub->add_option("--claim", flags->claim_id, "Only events of this claim")
      ->type_name("CLAIM");
  sub->add_option("--subject", flags->subject, "Only events about this subject")
      ->type_name("SLUG");
  sub->add_option("--claimant", flags->claimant,
                  "Only events of this claimant's claims")
      ->type_name("NAME");
  sub->add_option("--type", flags->types,
                  "Only these event types (repeatable or comma-separated)")
      ->check(EnumValidator<v1::EventType>())
      ->type_name(
          EnumTypeName(google::protobuf::GetEnumDescriptor<v1::EventType>()))
      ->delimiter(',')
      ->allow_extra_args(false);
}

v1::EventFilter MakeEventFilter(const EventFilterFlags& flags) {
  v1::EventFilter filter;
  filter.set_claim_id(flags.claim_id);
  filter.set_subject(flags.subject);
  filter.set_claimant(flags.claimant);
  for (const std::string& type : flags.types) {
    filter.add_types(ParseEnum<v1::EventType>("--type", type));
  }
  return filter;
}

void AddEvents(CLI::App* app, const GlobalOptions* g, Action* action) {
  struct Flags {
    uint64_t from = 0, limit = 0;
    EventFilterFlags filter;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = app->add_subcommand(
      "events", "Read the event log in position order (a snapshot)");
  sub->add_option("--from", f->from, "First position (inclusive; default 1)")
      ->type_name("N");
  sub->add_option("--limit", f->limit, "At most N events (default: all)")
      ->type_name("N");
  AddEventFilterFlags(sub, &f->filter);
  sub->footer(Examples({
      "factlog events --from 100 --limit 20",
      "factlog events --claim putin-troops-pulled-back-2014-05",
      "factlog events --type evidence-added,verdict-issued --output json",
  }));
  OnRun(sub, action, [f, g] {
    v1::ReadEventsRequest request;
    request.set_from_position(f->from);
    request.set_max_count(f->limit);
    *request.mutable_filter() = MakeEventFilter(f->filter);
    Connection connection(*g);
    size_t count = 0;
    JsonList json(g->json_lines());
    EventTable table(g->screen_width);
    connection.ReadStream(
        connection.events(), &v1::EventService::Stub::ReadEvents, request,
        [&](const v1::Event& event) {
          std::cout << (g->json() ? json.Add(event) : table.Add(event));
          ++count;
        });
    if (g->json()) {
      std::cout << json.Finish();
    } else {
      std::cout << (count == 0 ? std::string("no events\n") : table.Finish());
    }
    return kExitOk;
  });
}

void AddWatch(CLI::App* app, const GlobalOptions* g, Action* action) {
  struct Flags {
    uint64_t from = 0;
    bool from_end = false;
    EventFilterFlags filter;
    bool overdue = false, overdue_only = false;
    std::string overdue_after;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = app->add_subcommand(
      "watch", "Follow the event log live (until Ctrl-C), across restarts");
  CLI::Option* from =
      sub->add_option("--from", f->from,
                      "Start after position N (0 = the whole history)")
          ->type_name("N");
  sub->add_flag("--from-end", f->from_end,
                "Only events committed from now on (the default)")
      ->excludes(from);
  AddEventFilterFlags(sub, &f->filter);
  sub->add_flag("--overdue", f->overdue,
                "Also tell when a promise or prediction becomes overdue (its "
                "due date passed with no verdict and no support)");
  sub->add_flag("--overdue-only", f->overdue_only,
                "Only the overdue notices, no events");
  sub->add_option("--overdue-after", f->overdue_after,
                  "Overdue notices after this cursor, as printed with each "
                  "notice (TIME or TIME/CLAIM; 1970-01-01 = every claim "
                  "overdue now); implies --overdue. Default: from now on")
      ->check(OverdueCursorValidator())
      ->type_name("CURSOR");
  sub->footer(
      "\nTable output: one line per event (position, recorded time, claim,\n"
      "what happened, \"\u2192 STATUS\" when the server knows the status\n"
      "after it, with the rating when RATED); \"-- caught up --\" and\n"
      "reconnection notices go to stderr.\n"
      "JSON output (-o json or jsonl; a stream is JSON Lines either way):\n"
      "every SubscribeResponse as one line (events, checkpoints, caughtUp,\n"
      "fellBehind, overdue), flushed as it arrives.\n"
      "\n"
      "Overdue notices (--overdue, --overdue-only): \"OVERDUE CLAIM ...\" "
      "when\n"
      "a promise or prediction's due date has passed with no verdict and no\n"
      "support, once per claim (again only if it becomes overdue anew, e.g.\n"
      "its only support withdrawn), followed by the cursor to resume after\n"
      "it. They are not events: nothing is added to the log. The server\n"
      "looks about once a second, while the watch is live; a claim that was\n"
      "overdue only between two looks, or only while the watch was away, is\n"
      "not reported (claim list --overdue shows what is overdue now).\n"
      "\n"
      "Resuming: when the server goes away (restart, UNAVAILABLE, dropped\n"
      "connection) watch reconnects with backoff (0.1s doubling to 5s) and\n"
      "resumes after the last position it received (last event, checkpoint\n"
      "or caughtUp), so no event is missed or printed twice. A script that\n"
      "stops can do the same: keep the highest position of the JSON lines\n"
      "(event.position, checkpoint/caughtUp/fellBehind.position) and pass it\n"
      "to --from next time; for overdue notices, keep the last\n"
      "overdue.cursor or checkpoint.overdueCursor and pass it to\n"
      "--overdue-after.\n"
      "\n"
      "--timeout bounds only the first connection (exit 3 when the server is\n"
      "not reached); the stream itself runs until Ctrl-C or SIGTERM (exit 0).\n"
      "Other errors (e.g. OUT_OF_RANGE when --from is beyond the server's\n"
      "log) exit 1.\n" +
      Examples({
          "factlog watch",
          "factlog watch --from 0 --claim putin-orders-troops-back-2014-05-19",
          "factlog watch --subject russia-troops-ukraine-border \\",
          "    --type evidence-added,verdict-issued",
          "factlog watch --from 1200 -o json | jq -c 'select(.event)'",
          "factlog watch --overdue-only --claimant 'Vladimir Putin'",
          "factlog watch --overdue-only \\",
          "    --overdue-after 2026-11-25T15:10:11.5Z/putin-promise",
      }));
  OnRun(sub, action, [f, g, from] {
    WatchOptions watch;
    if (from->count() > 0) watch.from_position = f->from;
    watch.filter = MakeEventFilter(f->filter);
    if (f->overdue || f->overdue_only || !f->overdue_after.empty()) {
      watch.overdue.set_notify(true);
      watch.overdue.set_only(f->overdue_only);
      if (!f->overdue_after.empty()) {
        *watch.overdue.mutable_after() = *ParseOverdueCursor(f->overdue_after);
      }
    }
    return RunWatch(watch, *g);
  });
}

}  // namespace

void AddEventCommands(CLI::App* app, const GlobalOptions* options,
                      Action* action) {
  AddEvents(app, options, action);
  AddWatch(app, options, action);
}

}  // namespace factlog::cli
