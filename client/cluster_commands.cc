// `factlog cluster status`: a replicated cluster's nodes, leader, applied
// positions and lags (README, "Replicated mode").
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/format.h"
#include "client/subcommands.h"

namespace factlog::cli {
namespace {

std::string RenderClusterStatus(const v1::ClusterStatus& status,
                                size_t screen_width) {
  std::string out = absl::StrCat(
      "cluster  ", status.cluster_id(), "\nleader   ",
      status.leader().empty() ? "(none right now)" : status.leader(),
      "\nhead     position ", status.head_position(), " (commit ",
      status.head_commit(), ")\nasked    ", status.node(), ", applied up to ",
      status.applied_position(), ", as of ",
      status.has_as_of() ? FormatTime(status.as_of()) : "(no answer from etcd)",
      "\n");
  if (!status.stopped().empty()) {
    absl::StrAppend(&out, "STOPPED  ", status.stopped(), "\n");
  }
  Table table({{"NODE", kScreenWidth, false, false, 0, true},
               {"ADDRESS"},
               {"ROLE"},
               {"APPLIED", kScreenWidth, false, true},
               {"LAG", kScreenWidth, false, true},
               {"REPORTED", kScreenWidth, true}});
  for (const v1::ClusterNode& node : status.nodes()) {
    table.AddRow(
        {node.name(), node.address(), node.leader() ? "leader" : "follower",
         absl::StrCat(node.applied_position()),
         absl::StrCat(node.lag_positions()), FormatTime(node.reported_at())});
  }
  absl::StrAppend(&out, "\n", table.Render(screen_width));
  return out;
}

}  // namespace

void AddClusterCommands(CLI::App* app, const GlobalOptions* options,
                        Action* action) {
  CLI::App* cluster = AddCommandGroup(
      app, "cluster", "A replicated cluster (factlogd --etcd-endpoints)",
      Examples({"factlog --server 127.0.0.1:50062 cluster status"}));
  CLI::App* sub = cluster->add_subcommand(
      "status",
      "The live nodes, the leader, each node's applied position and how far "
      "it is behind the log's head; any node answers (admin role)");
  sub->footer(Examples({
      "factlog cluster status",
      "factlog cluster status -o json | jq '.nodes[] | {name, lagPositions}'",
  }));
  OnRun(sub, action, [options] {
    return PrintAdminAnswer(*options, &v1::AdminService::Stub::GetClusterStatus,
                            RenderClusterStatus);
  });
}

}  // namespace factlog::cli
