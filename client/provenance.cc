#include "client/provenance.h"

#include <map>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/format_events.h"
#include "google/protobuf/util/time_util.h"

namespace factlog::cli {

using nlohmann::json;

namespace {

std::string Time(const google::protobuf::Timestamp& ts) {
  return google::protobuf::util::TimeUtil::ToString(ts);
}

json Ref(const std::string& id) { return {{"@id", id}}; }

std::string AgentId(const std::string& name) {
  return absl::StrCat("factlog:agent/", IriSegment(name));
}

}  // namespace

std::string IriSegment(absl::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out += static_cast<char>(c);
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

json ProvenanceJsonLd(const std::vector<v1::Event>& events) {
  json graph = json::array();
  std::map<std::string, json> agents;
  auto agent = [&](const std::string& name, const char* type) {
    agents.emplace(name, json{{"@id", AgentId(name)},
                              {"@type", {"prov:Agent", type}},
                              {"prov:label", name}});
    return Ref(AgentId(name));
  };
  std::string previous;
  for (const v1::Event& e : events) {
    const std::string entity =
        absl::StrCat("factlog:claim/", e.claim_id(), "/v", e.version());
    const std::string activity = absl::StrCat("factlog:event/", e.position());
    json act = {{"@id", activity},
                {"@type", "prov:Activity"},
                {"prov:type", EventTypeName(e)},
                {"prov:startedAtTime", Time(e.recorded_at())},
                {"prov:endedAtTime", Time(e.recorded_at())},
                {"prov:wasAssociatedWith", agent(e.actor(), "prov:Person")}};
    if (!e.request_id().empty()) act["factlog:requestId"] = e.request_id();
    json ent = {{"@id", entity},
                {"@type", "prov:Entity"},
                {"prov:label", EventDetail(e)},
                {"prov:generatedAtTime", Time(e.recorded_at())},
                {"prov:wasGeneratedBy", Ref(activity)},
                {"prov:wasAttributedTo", Ref(AgentId(e.actor()))}};
    if (!previous.empty()) {
      ent["prov:wasDerivedFrom"] = Ref(previous);
      if (e.has_claim_corrected()) ent["prov:wasRevisionOf"] = Ref(previous);
      act["prov:used"] = Ref(previous);
    }
    if (e.has_claim_recorded()) {
      const v1::ClaimRecorded& r = e.claim_recorded();
      ent["prov:value"] = r.text();
      ent["factlog:claimant"] = agent(r.claimant(), "prov:Person");
      if (!r.reported_by().name().empty()) {
        const std::string report =
            absl::StrCat("factlog:report/", e.claim_id());
        json rep = {{"@id", report},
                    {"@type", "prov:Entity"},
                    {"prov:label", r.reported_by().name()},
                    {"prov:wasAttributedTo",
                     agent(r.reported_by().name(), "prov:Person")}};
        if (!r.reported_by().outlet().empty()) {
          rep["factlog:outlet"] = r.reported_by().outlet();
        }
        if (!r.reported_by().url().empty()) {
          rep["prov:atLocation"] = r.reported_by().url();
        }
        graph.push_back(rep);
        ent["prov:wasQuotedFrom"] = Ref(report);
      }
    }
    if (e.has_evidence_added()) {
      const v1::Source& source = e.evidence_added().source();
      const std::string id =
          absl::StrCat("factlog:evidence/", e.claim_id(), "/",
                       e.evidence_added().evidence_id());
      json ev = {{"@id", id},
                 {"@type", "prov:Entity"},
                 {"prov:label", source.name()},
                 {"prov:wasAttributedTo", agent(source.name(), "prov:Person")}};
      if (!source.url().empty()) ev["prov:atLocation"] = source.url();
      graph.push_back(ev);
      act["prov:used"] = json::array({Ref(previous), Ref(id)});
    }
    graph.push_back(act);
    graph.push_back(ent);
    previous = entity;
  }
  for (auto& [name, a] : agents) graph.push_back(a);
  return {{"@context",
           {{"prov", "http://www.w3.org/ns/prov#"},
            {"factlog", "urn:factlog:"},
            {"xsd", "http://www.w3.org/2001/XMLSchema#"}}},
          {"@graph", graph}};
}

}  // namespace factlog::cli
