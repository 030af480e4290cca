#include "bench/report.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace factlog::bench {
namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  return absl::StrFormat("%.6g", v);
}

std::string Ms(double v) { return v < 0 ? "-" : absl::StrFormat("%.3f", v); }

std::string Rate(double v) {
  if (v >= 100) return absl::StrFormat("%.0f", v);
  return absl::StrFormat("%.1f", v);
}

std::string ExtraText(const Row& r) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : r.extra) {
    parts.push_back(absl::StrCat(k, "=", JsonNumber(v)));
  }
  return absl::StrJoin(parts, " ");
}

std::string TargetText(const Target& t) {
  return absl::StrFormat("%s: %s (%s %s)", t.met() ? "MET" : "MISSED",
                         JsonNumber(t.value),
                         t.at_least ? ">=" : "<=", JsonNumber(t.limit));
}

}  // namespace

void Row::SetLatency(const Histogram& h) {
  if (h.count() == 0) return;
  p50_ms = h.QuantileMs(0.5);
  p99_ms = h.QuantileMs(0.99);
  p999_ms = h.QuantileMs(0.999);
}

void PrintTable(const std::vector<Row>& rows, std::FILE* out) {
  std::fprintf(out, "%-16s %7s %11s %-11s %8s %8s %9s %-16s %11s %6s %8s %7s\n",
               "workload", "clients", "rate/s", "unit", "p50 ms", "p99 ms",
               "p99.9 ms", "baseline", "baseline/s", "ratio", "RSS MiB",
               "B/event");
  for (const Row& r : rows) {
    std::fprintf(
        out, "%-16s %7d %11s %-11s %8s %8s %9s %-16s %11s %6s %8.0f %7s\n",
        r.workload.c_str(), r.clients, Rate(r.ops_per_sec).c_str(),
        r.unit.c_str(), Ms(r.p50_ms).c_str(), Ms(r.p99_ms).c_str(),
        Ms(r.p999_ms).c_str(), r.baseline.empty() ? "-" : r.baseline.c_str(),
        r.baseline.empty() ? "-" : Rate(r.baseline_ops_per_sec).c_str(),
        r.baseline.empty() ? "-" : absl::StrFormat("%.2f", r.ratio()).c_str(),
        r.rss_mib,
        r.disk_bytes_per_event > 0
            ? absl::StrFormat("%.0f", r.disk_bytes_per_event).c_str()
            : "-");
  }
  for (const Row& r : rows) {
    if (r.errors > 0 || !r.extra.empty() || !r.note.empty()) {
      std::fprintf(
          out, "  %s@%d:%s%s%s%s\n", r.workload.c_str(), r.clients,
          r.errors > 0 ? absl::StrCat(" errors=", r.errors).c_str() : "",
          r.extra.empty() ? "" : " ", ExtraText(r).c_str(),
          r.note.empty() ? "" : absl::StrCat(" (", r.note, ")").c_str());
    }
  }
  bool any = false;
  for (const Row& r : rows) {
    for (const Target& t : r.targets) {
      if (!any) std::fprintf(out, "targets:\n");
      any = true;
      std::fprintf(out, "  %-16s %s: %s\n",
                   absl::StrCat(r.workload, "@", r.clients).c_str(),
                   t.what.c_str(), TargetText(t).c_str());
    }
  }
}

void PrintMarkdown(const std::vector<Row>& rows, std::FILE* out) {
  std::fprintf(out,
               "| workload | clients | rate/s | unit | p50 ms | p99 ms | "
               "p99.9 ms | baseline | baseline/s | ratio | RSS MiB | "
               "B/event |\n|---|--:|--:|---|--:|--:|--:|---|--:|--:|--:|--:|"
               "\n");
  for (const Row& r : rows) {
    std::fprintf(
        out,
        "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %.0f | %s |\n",
        r.workload.c_str(), r.clients, Rate(r.ops_per_sec).c_str(),
        r.unit.c_str(), Ms(r.p50_ms).c_str(), Ms(r.p99_ms).c_str(),
        Ms(r.p999_ms).c_str(), r.baseline.empty() ? "-" : r.baseline.c_str(),
        r.baseline.empty() ? "-" : Rate(r.baseline_ops_per_sec).c_str(),
        r.baseline.empty() ? "-" : absl::StrFormat("%.2f", r.ratio()).c_str(),
        r.rss_mib,
        r.disk_bytes_per_event > 0
            ? absl::StrFormat("%.0f", r.disk_bytes_per_event).c_str()
            : "-");
  }
  std::fprintf(out, "\nDetails:\n\n");
  for (const Row& r : rows) {
    std::vector<std::string> parts;
    if (r.errors > 0) parts.push_back(absl::StrCat("errors=", r.errors));
    if (!r.extra.empty()) parts.push_back(ExtraText(r));
    if (!r.note.empty()) parts.push_back(r.note);
    std::fprintf(out, "- `%s@%d`: %s\n", r.workload.c_str(), r.clients,
                 absl::StrJoin(parts, " — ").c_str());
  }
  std::fprintf(out,
               "\nTargets (issue 7):\n\n| workload | target | value | limit | "
               "met |\n|---|---|--:|--:|---|\n");
  for (const Row& r : rows) {
    for (const Target& t : r.targets) {
      std::fprintf(out, "| %s@%d | %s | %s | %s %s | %s |\n",
                   r.workload.c_str(), r.clients, t.what.c_str(),
                   JsonNumber(t.value).c_str(), t.at_least ? "≥" : "≤",
                   JsonNumber(t.limit).c_str(), t.met() ? "yes" : "**no**");
    }
  }
}

std::string RowJson(const Row& r) {
  std::string s =
      absl::StrCat("{\"workload\":", JsonString(r.workload),
                   ",\"clients\":", r.clients, ",\"unit\":", JsonString(r.unit),
                   ",\"ops_per_sec\":", JsonNumber(r.ops_per_sec),
                   ",\"ops\":", r.ops, ",\"errors\":", r.errors);
  for (const auto& [k, v] : {std::pair<const char*, double>{"p50_ms", r.p50_ms},
                             {"p99_ms", r.p99_ms},
                             {"p999_ms", r.p999_ms}}) {
    absl::StrAppend(&s, ",\"", k, "\":", v < 0 ? "null" : JsonNumber(v));
  }
  absl::StrAppend(
      &s, ",\"baseline\":", JsonString(r.baseline),
      ",\"baseline_ops_per_sec\":", JsonNumber(r.baseline_ops_per_sec),
      ",\"ratio\":", JsonNumber(r.ratio()),
      ",\"rss_mib\":", JsonNumber(r.rss_mib),
      ",\"rss_of\":", JsonString(r.rss_of),
      ",\"disk_bytes_per_event\":", JsonNumber(r.disk_bytes_per_event));
  for (const auto& [k, v] : r.extra) {
    absl::StrAppend(&s, ",", JsonString(k), ":", JsonNumber(v));
  }
  if (!r.note.empty()) absl::StrAppend(&s, ",\"note\":", JsonString(r.note));
  absl::StrAppend(&s, ",\"targets\":[");
  for (size_t i = 0; i < r.targets.size(); ++i) {
    const Target& t = r.targets[i];
    absl::StrAppend(&s, i ? "," : "", "{\"what\":", JsonString(t.what),
                    ",\"value\":", JsonNumber(t.value),
                    ",\"limit\":", JsonNumber(t.limit),
                    ",\"at_least\":", t.at_least ? "true" : "false",
                    ",\"met\":", t.met() ? "true" : "false", "}");
  }
  return s + "]}";
}

void PrintJsonLines(const std::vector<Row>& rows, std::FILE* out) {
  for (const Row& r : rows) std::fprintf(out, "%s\n", RowJson(r).c_str());
}

}  // namespace factlog::bench
