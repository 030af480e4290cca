// The "done when" of the core ledger, from the outside: a gRPC client that
// has never seen factlog's .proto files discovers the services through server
// reflection, records a claim, refutes it and reads CONTRADICTED with the
// refuting source named; then factlogd is killed (SIGKILL, no clean
// shutdown), restarted, and everything acknowledged is still there.
//
// This binary links no factlog code: every factlog message is a
// DynamicMessage built from descriptors the server sent.
#include <signal.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/compiler/parser.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/descriptor_database.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/client_unary_call.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/impl/codegen/rpc_method.h"
#include "grpcpp/impl/codegen/sync_stream.h"
#include "gtest/gtest.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace factlog {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::DynamicMessageFactory;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptorProto;
using google::protobuf::Message;
using ::testing::Contains;
using ::testing::IsSupersetOf;

// The public wire contracts of the two standard services we speak, written
// out so this client depends on nothing of the server's.
constexpr char kStandardProtos[] = R"(
syntax = "proto3";
package grpc.std;
message ServerReflectionRequest {
  string host = 1;
  oneof message_request {
    string file_by_filename = 3;
    string file_containing_symbol = 4;
    string list_services = 7;
  }
}
message ServerReflectionResponse {
  string valid_host = 1;
  ServerReflectionRequest original_request = 2;
  oneof message_response {
    FileDescriptorResponse file_descriptor_response = 4;
    ListServiceResponse list_services_response = 6;
    ErrorResponse error_response = 7;
  }
}
message FileDescriptorResponse { repeated bytes file_descriptor_proto = 1; }
message ListServiceResponse { repeated ServiceResponse service = 1; }
message ServiceResponse { string name = 1; }
message ErrorResponse { int32 error_code = 1; string error_message = 2; }
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse { int32 status = 1; }  // 1 = SERVING
)";

class ParseErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    ADD_FAILURE() << "standard protos " << line << ":" << column << ": "
                  << message;
  }
};

// Dynamic messages for a pool of descriptors.
class Messages {
 public:
  explicit Messages(const DescriptorPool* pool) : pool_(pool) {}
  std::unique_ptr<Message> New(const std::string& full_name) {
    const Descriptor* d = pool_->FindMessageTypeByName(full_name);
    EXPECT_NE(d, nullptr) << full_name;
    return std::unique_ptr<Message>(factory_.GetPrototype(d)->New());
  }

 private:
  const DescriptorPool* pool_;
  DynamicMessageFactory factory_;
};

// Sets `path` ("a.b.c") on `msg` from a string, converting for the field
// type: strings, enums by value name, and nested messages.
void Set(Message* msg, const std::string& path, const std::string& value) {
  const size_t dot = path.find('.');
  const FieldDescriptor* f =
      msg->GetDescriptor()->FindFieldByName(path.substr(0, dot));
  ASSERT_NE(f, nullptr) << path;
  if (dot != std::string::npos) {
    Set(msg->GetReflection()->MutableMessage(msg, f), path.substr(dot + 1),
        value);
  } else if (f->type() == FieldDescriptor::TYPE_ENUM) {
    const auto* v = f->enum_type()->FindValueByName(value);
    ASSERT_NE(v, nullptr) << value;
    msg->GetReflection()->SetEnum(msg, f, v);
  } else {
    msg->GetReflection()->SetString(msg, f, value);
  }
}

class ReflectionClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    google::protobuf::io::ArrayInputStream input(kStandardProtos,
                                                 sizeof(kStandardProtos) - 1);
    ParseErrors errors;
    google::protobuf::io::Tokenizer tokenizer(&input, &errors);
    FileDescriptorProto file;
    google::protobuf::compiler::Parser parser;
    ASSERT_TRUE(parser.Parse(&tokenizer, &file));
    file.set_name("standard.proto");
    ASSERT_NE(standard_pool_.BuildFile(file), nullptr);
    Start();
  }

  void Start() {
    auto started = testing::StartFactlogd(FACTLOGD_PATH, dir_.path() + "/data");
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = std::move(*started);
    channel_ = grpc::CreateChannel(server_.address,
                                   grpc::InsecureChannelCredentials());
  }

  // One request on the reflection stream.
  std::unique_ptr<Message> Reflect(const std::string& field,
                                   const std::string& value) {
    grpc::ClientContext ctx;
    grpc::internal::RpcMethod method(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        grpc::internal::RpcMethod::BIDI_STREAMING);
    std::unique_ptr<grpc::ClientReaderWriter<Message, Message>> stream(
        grpc::internal::ClientReaderWriterFactory<Message, Message>::Create(
            channel_.get(), method, &ctx));
    auto req = standard_.New("grpc.std.ServerReflectionRequest");
    Set(req.get(), field, value);
    EXPECT_TRUE(stream->Write(*req));
    stream->WritesDone();
    auto resp = standard_.New("grpc.std.ServerReflectionResponse");
    EXPECT_TRUE(stream->Read(resp.get()));
    EXPECT_TRUE(stream->Finish().ok());
    return resp;
  }

  grpc::Status Call(const std::string& method_path, const Message& req,
                    Message* resp) {
    grpc::ClientContext ctx;
    grpc::internal::RpcMethod method(method_path.c_str(),
                                     grpc::internal::RpcMethod::NORMAL_RPC);
    return grpc::internal::BlockingUnaryCall<Message, Message>(
        channel_.get(), method, &ctx, req, resp);
  }

  testing::TempDir dir_;
  testing::FactlogdProcess server_;
  std::shared_ptr<grpc::Channel> channel_;
  DescriptorPool standard_pool_;
  Messages standard_{&standard_pool_};
};

TEST_F(ReflectionClientTest, DiscoversServicesRecordsRefutesAndSurvivesAKill) {
  // Health answers SERVING.
  auto health_req = standard_.New("grpc.std.HealthCheckRequest");
  auto health = standard_.New("grpc.std.HealthCheckResponse");
  ASSERT_TRUE(
      Call("/grpc.health.v1.Health/Check", *health_req, health.get()).ok());
  EXPECT_EQ(health->GetReflection()->GetInt32(
                *health, health->GetDescriptor()->FindFieldByName("status")),
            1);

  // Which services are there?
  auto listed = Reflect("list_services", "*");
  std::vector<std::string> services;
  const Message& list = listed->GetReflection()->GetMessage(
      *listed,
      listed->GetDescriptor()->FindFieldByName("list_services_response"));
  const FieldDescriptor* service_field =
      list.GetDescriptor()->FindFieldByName("service");
  for (int i = 0; i < list.GetReflection()->FieldSize(list, service_field);
       ++i) {
    const Message& s =
        list.GetReflection()->GetRepeatedMessage(list, service_field, i);
    services.push_back(s.GetReflection()->GetString(
        s, s.GetDescriptor()->FindFieldByName("name")));
  }
  EXPECT_THAT(services, IsSupersetOf({"factlog.v1.ClaimService",
                                      "factlog.v1.EventService",
                                      "grpc.health.v1.Health"}));

  // Fetch the service's file and everything it imports.
  auto files = Reflect("file_containing_symbol", "factlog.v1.ClaimService");
  const Message& fd_resp = files->GetReflection()->GetMessage(
      *files,
      files->GetDescriptor()->FindFieldByName("file_descriptor_response"));
  const FieldDescriptor* fd_field =
      fd_resp.GetDescriptor()->FindFieldByName("file_descriptor_proto");
  google::protobuf::SimpleDescriptorDatabase database;
  const int file_count = fd_resp.GetReflection()->FieldSize(fd_resp, fd_field);
  ASSERT_GE(file_count, 1);
  for (int i = 0; i < file_count; ++i) {
    FileDescriptorProto file;
    ASSERT_TRUE(file.ParseFromString(
        fd_resp.GetReflection()->GetRepeatedString(fd_resp, fd_field, i)));
    database.Add(file);
  }
  DescriptorPool pool(&database);
  const auto* service = pool.FindServiceByName("factlog.v1.ClaimService");
  ASSERT_NE(service, nullptr);
  ASSERT_NE(service->FindMethodByName("RecordClaim"), nullptr);
  Messages factlog(&pool);

  // Record the claim, refute it.
  auto record = factlog.New(
      service->FindMethodByName("RecordClaim")->input_type()->full_name());
  Set(record.get(), "claim_id", "putin-orders-withdrawal");
  Set(record.get(), "text", "Putin ordered the troops back to their bases.");
  Set(record.get(), "claimant", "Vladimir Putin");
  Set(record.get(), "reported_by.name", "Dmitry Peskov");
  Set(record.get(), "kind", "CLAIM_KIND_PROMISE");
  auto resp = factlog.New("factlog.v1.CommandResponse");
  grpc::Status s =
      Call("/factlog.v1.ClaimService/RecordClaim", *record, resp.get());
  ASSERT_TRUE(s.ok()) << s.error_message();

  auto refute = factlog.New("factlog.v1.AddEvidenceRequest");
  Set(refute.get(), "claim_id", "putin-orders-withdrawal");
  Set(refute.get(), "stance", "STANCE_REFUTES");
  Set(refute.get(), "source.name", "NATO");
  Set(refute.get(), "note", "No signs of soldiers returning to their bases.");
  s = Call("/factlog.v1.ClaimService/AddEvidence", *refute, resp.get());
  ASSERT_TRUE(s.ok()) << s.error_message();

  auto read_claim = [&]() {
    auto get = factlog.New("factlog.v1.GetClaimRequest");
    Set(get.get(), "claim_id", "putin-orders-withdrawal");
    auto view = factlog.New("factlog.v1.ClaimView");
    grpc::Status st =
        Call("/factlog.v1.ClaimService/GetClaim", *get, view.get());
    EXPECT_TRUE(st.ok()) << st.error_message();
    const auto* r = view->GetReflection();
    const auto* d = view->GetDescriptor();
    std::vector<std::string> refuting;
    for (int i = 0;
         i < r->FieldSize(*view, d->FindFieldByName("refuting_sources")); ++i) {
      refuting.push_back(r->GetRepeatedString(
          *view, d->FindFieldByName("refuting_sources"), i));
    }
    return std::make_pair(
        r->GetEnum(*view, d->FindFieldByName("status"))->name(), refuting);
  };
  auto [status, refuting] = read_claim();
  EXPECT_EQ(status, "CLAIM_STATUS_CONTRADICTED");
  EXPECT_THAT(refuting, Contains("NATO"));

  // A crash, not a shutdown: acknowledged events must already be on disk.
  server_.process->Signal(SIGKILL);
  EXPECT_EQ(server_.process->Wait(), 128 + SIGKILL);
  Start();
  auto [status_after, refuting_after] = read_claim();
  EXPECT_EQ(status_after, "CLAIM_STATUS_CONTRADICTED");
  EXPECT_THAT(refuting_after, Contains("NATO"));

  // And a clean stop exits 0. (Close our connection first: an idle gRPC
  // client only answers the server's graceful GOAWAY from its 5 s backup
  // poller, which would just slow the test down.)
  channel_.reset();
  server_.process->Signal(SIGTERM);
  EXPECT_EQ(server_.process->Wait(), 0);
}

}  // namespace
}  // namespace factlog
