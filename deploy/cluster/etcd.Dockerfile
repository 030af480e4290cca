# etcd 3.4 as Debian 12 packages it, for deploy/cluster/compose.yaml and
# k8s.yaml. From the repository root:
#   docker build -f deploy/cluster/etcd.Dockerfile -t factlog-etcd:latest .
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      etcd-server etcd-client \
 && rm -rf /var/lib/apt/lists/*
USER 10002:10002
EXPOSE 2379 2380
ENTRYPOINT ["/usr/bin/etcd"]
