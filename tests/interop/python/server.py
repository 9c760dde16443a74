"""The Python grpcio interop peer: gRPC's `grpc.testing.TestService`, served
by grpcio (the gRPC C core), for switchboard's interop tests.

It implements the server features of gRPC's doc/interop-test-descriptions.md
that the non-cloud cases use: EmptyCall, UnaryCall, StreamingOutputCall,
StreamingInputCall, FullDuplexCall, HalfDuplexCall, CompressedResponse, Echo
Status, Echo Metadata and ResponseParameters.interval_us. UnimplementedCall
(and the whole UnimplementedService) fail with UNIMPLEMENTED.

CompressedRequest is NOT implemented: grpcio decompresses request messages
before a handler sees them and exposes no per-message compressed flag, so
this server cannot tell whether a request arrived compressed. It ignores
`expect_compressed`; the client-compression cases (client_compressed_unary,
client_compressed_streaming) run against the tonic peer only, which reads
the flag byte off the wire.

Beside TestService it serves gRPC health checking (grpcio-health-checking:
`grpc.health.v1.Health`, with "" and grpc.testing.TestService SERVING) and
server reflection (grpcio-reflection) listing TestService, Health and the
reflection services. grpcio-reflection serves `grpc.reflection.v1alpha`
only; this server also serves the same servicer as `grpc.reflection.v1`
(the two protocols' messages are identical on the wire; the v1 file
descriptor is v1alpha's, renamed, so reflection can describe itself), unless
`--reflection v1alpha` asks for v1alpha alone (a server as grpcio's own
helper makes it, for clients' fall-back).

Usage (the Rust side, switchboard_interop_peer::python, does this):

    python server.py --port 0 --gen_dir DIR [--tls_cert CERT.pem --tls_key KEY.pem
                                             [--tls_client_ca CA.pem]]
                                            [--grpc_option NAME=INT ...]
                                            [--reflection both|v1alpha]

DIR holds the stubs grpc_tools.protoc generated from tests/interop/proto
(DIR/grpc/testing/*_pb2*.py). The first line on stdout is the bound port,
printed once the server is serving. With --tls_cert and --tls_key it serves
TLS (grpc.ssl_server_credentials; ALPN h2) instead of plaintext; with
--tls_client_ca too, clients must present a certificate of that CA (mutual
TLS). Each `--grpc_option` is a grpcio channel argument for the server,
e.g. `grpc.max_connection_age_ms=500`. The server stops when its stdin reaches
EOF, so it never outlives the process that started it.

A line `stop GRACE` on stdin (GRACE in seconds) stops it gracefully instead:
`server.stop(GRACE)` (no new calls; every connection gets a GOAWAY; calls
still running after GRACE seconds are cancelled), and once the server has
fully stopped it prints `stopped` on stdout and exits. grpcio binds with
SO_REUSEPORT, so a new server can take the same port with `--port`.

A line `health SERVICE STATUS` (or `health STATUS` for the server as a whole,
"") sets a service's health status (STATUS: SERVING, NOT_SERVING,
SERVICE_UNKNOWN or UNKNOWN; watchers of the service see the change) and
prints `health SERVICE STATUS` back on stdout once it is set (`health ""
STATUS` for the whole server). A line it cannot read gets `error: ...`.
"""

import argparse
import os
import sys
import threading
import time
from concurrent import futures

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

ECHO_INITIAL_KEY = "x-grpc-test-echo-initial"
ECHO_TRAILING_KEY = "x-grpc-test-echo-trailing-bin"

# Largest payload built for one response message, as in the tonic peer.
MAX_PAYLOAD_SIZE = 64 * 1024 * 1024

STATUS_CODES = {code.value[0]: code for code in grpc.StatusCode}

TEST_SERVICE = "grpc.testing.TestService"
REFLECTION_V1_SERVICE = "grpc.reflection.v1.ServerReflection"


def import_stubs(gen_dir):
    """Imports the generated modules.

    They live in the `grpc.testing` package (the proto package), which the
    installed grpcio package `grpc` shadows; extending `grpc.__path__` with
    the generated `grpc/` directory makes `grpc.testing` resolve there.
    """
    grpc.__path__.append(os.path.join(gen_dir, "grpc"))
    global empty_pb2, messages_pb2, test_pb2, test_pb2_grpc
    from grpc.testing import empty_pb2, messages_pb2, test_pb2, test_pb2_grpc  # noqa: E402


def echo_metadata(context):
    """Echo Metadata: initial value back in the headers, the -bin trailing
    value back in the trailers. Call before the first response."""
    initial = []
    trailing = []
    for key, value in context.invocation_metadata():
        if key == ECHO_INITIAL_KEY:
            initial.append((key, value))
        elif key == ECHO_TRAILING_KEY:
            trailing.append((key, value))
    if initial:
        context.send_initial_metadata(initial)
    if trailing:
        context.set_trailing_metadata(trailing)


def echo_status(status, context):
    """Echo Status: ends the call with the requested code and message if the
    request carries a response_status with a non-OK code."""
    if status is not None and status.code != 0:
        code = STATUS_CODES.get(status.code, grpc.StatusCode.UNKNOWN)
        context.abort(code, status.message)


def zeros(response_type, size, context):
    """A payload of `size` zero bytes; INVALID_ARGUMENT for an unsupported
    type or a bad size."""
    if response_type != messages_pb2.COMPRESSABLE:
        context.abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            "unsupported response_type %d" % response_type,
        )
    if size < 0 or size > MAX_PAYLOAD_SIZE:
        context.abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            "response size %d is not in 0..=%d" % (size, MAX_PAYLOAD_SIZE),
        )
    return messages_pb2.Payload(type=response_type, body=bytes(size))


def wants_compression(bool_value_holder, field):
    return bool_value_holder.HasField(field) and getattr(bool_value_holder, field).value


def responses_for(request, context):
    """The responses one StreamingOutputCallRequest asks for, in order, with
    per-message compression and interval_us delays."""
    echo_status(request.response_status if request.HasField("response_status") else None, context)
    for params in request.response_parameters:
        if params.interval_us > 0:
            time.sleep(params.interval_us / 1_000_000)
        payload = zeros(request.response_type, params.size, context)
        if not wants_compression(params, "compressed"):
            context.disable_next_message_compression()
        yield messages_pb2.StreamingOutputCallResponse(payload=payload)


def any_compressed(request):
    return any(wants_compression(p, "compressed") for p in request.response_parameters)


class TestService:
    """The handlers. Each echoes metadata first, as the headers go out with
    the first response (or the status)."""

    def EmptyCall(self, request, context):
        echo_metadata(context)
        return empty_pb2.Empty()

    def UnaryCall(self, request, context):
        # expect_compressed is ignored: see the module docstring.
        echo_metadata(context)
        echo_status(request.response_status if request.HasField("response_status") else None, context)
        payload = zeros(request.response_type, request.response_size, context)
        if wants_compression(request, "response_compressed"):
            context.set_compression(grpc.Compression.Gzip)
        else:
            context.disable_next_message_compression()
        return messages_pb2.SimpleResponse(payload=payload)

    def StreamingOutputCall(self, request, context):
        if any_compressed(request):
            # Call-level gzip; messages not asking for it opt out one by one.
            context.set_compression(grpc.Compression.Gzip)
        echo_metadata(context)
        yield from responses_for(request, context)

    def StreamingInputCall(self, request_iterator, context):
        # expect_compressed is ignored: see the module docstring.
        echo_metadata(context)
        total = sum(len(request.payload.body) for request in request_iterator)
        return messages_pb2.StreamingInputCallResponse(aggregated_payload_size=total)

    def FullDuplexCall(self, request_iterator, context):
        echo_metadata(context)
        for request in request_iterator:
            if any_compressed(request):
                # Only takes effect before the first response goes out.
                context.set_compression(grpc.Compression.Gzip)
            yield from responses_for(request, context)

    def HalfDuplexCall(self, request_iterator, context):
        echo_metadata(context)
        requests = list(request_iterator)
        for request in requests:
            yield from responses_for(request, context)

    def UnimplementedCall(self, request, context):
        context.abort(
            grpc.StatusCode.UNIMPLEMENTED,
            "grpc.testing.TestService/UnimplementedCall is not implemented",
        )


def add_health(server):
    """Registers grpcio's health servicer: the server ("") and TestService
    SERVING. Returns it, for `health` lines on stdin."""
    # experimental_non_blocking=False: the default (non-blocking) Watch sends
    # from inside `set`, holding the servicer's lock until the send is done,
    # while grpcio's poller thread runs a closing Watch's callback, which
    # waits for that lock: a deadlock whenever one watcher goes away while
    # another is sent to (seen with two watch tests at once). The blocking
    # Watch only queues the response in `set`.
    servicer = health.HealthServicer(experimental_non_blocking=False)
    serving = health_pb2.HealthCheckResponse.SERVING
    servicer.set("", serving)
    servicer.set(TEST_SERVICE, serving)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    return servicer


def register_v1_reflection_descriptor():
    """Adds `grpc/reflection/v1/reflection.proto` to the default descriptor
    pool: v1alpha's file descriptor with its package renamed (the messages
    are the same), so that reflection can describe the v1 service too."""
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    old, new = ".grpc.reflection.v1alpha.", ".grpc.reflection.v1."

    def renamed(name):
        return new + name[len(old):] if name.startswith(old) else name

    proto.name = "grpc/reflection/v1/reflection.proto"
    proto.package = "grpc.reflection.v1"
    proto.ClearField("options")
    for message in proto.message_type:
        for field in message.field:
            if field.HasField("type_name"):
                field.type_name = renamed(field.type_name)
    for service in proto.service:
        for method in service.method:
            method.input_type = renamed(method.input_type)
            method.output_type = renamed(method.output_type)
    descriptor_pool.Default().AddSerializedFile(proto.SerializeToString())


def add_reflection(server, versions):
    """Registers grpcio's reflection servicer as v1alpha and, with versions
    "both", as v1 too (same servicer: the messages are the same on the
    wire). It lists TestService, Health and the reflection services served."""
    names = [
        test_pb2.DESCRIPTOR.services_by_name["TestService"].full_name,
        health.SERVICE_NAME,
        reflection.SERVICE_NAME,
    ]
    if versions == "both":
        register_v1_reflection_descriptor()
        names.append(REFLECTION_V1_SERVICE)
    servicer = reflection.ReflectionServicer(names)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    if versions == "both":
        v1 = grpc.method_handlers_generic_handler(
            REFLECTION_V1_SERVICE,
            {
                "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                    servicer.ServerReflectionInfo,
                    request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
                    response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
                )
            },
        )
        server.add_generic_rpc_handlers((v1,))


def set_health(health_servicer, words):
    """A `health [SERVICE] STATUS` line (words, as bytes, after `health`):
    sets the status and says so on stdout."""
    if len(words) == 1:
        service, status = "", words[0].decode()
    elif len(words) == 2:
        service, status = words[0].decode(), words[1].decode()
    else:
        print("error: expected `health [SERVICE] STATUS`", flush=True)
        return
    try:
        value = health_pb2.HealthCheckResponse.ServingStatus.Value(status)
    except ValueError:
        print("error: unknown health status %r" % status, flush=True)
        return
    health_servicer.set(service, value)
    print("health %s %s" % (service or '""', status), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="port to listen on; 0: any")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--gen_dir", required=True, help="directory with the generated grpc/testing stubs"
    )
    parser.add_argument("--tls_cert", help="PEM certificate chain: serve TLS (with --tls_key)")
    parser.add_argument("--tls_key", help="PEM private key of --tls_cert")
    parser.add_argument("--tls_client_ca", help="PEM CA: require client certificates of it")
    parser.add_argument(
        "--grpc_option",
        action="append",
        default=[],
        metavar="NAME=INT",
        help="a server channel argument, e.g. grpc.http2.max_ping_strikes=1 (repeatable)",
    )
    parser.add_argument(
        "--reflection",
        choices=["both", "v1alpha"],
        default="both",
        help="reflection versions to serve: v1 and v1alpha (default), or v1alpha only",
    )
    args = parser.parse_args()
    if (args.tls_cert is None) != (args.tls_key is None):
        sys.exit("--tls_cert and --tls_key go together")
    options = []
    for option in args.grpc_option:
        name, _, value = option.partition("=")
        options.append((name, int(value)))

    import_stubs(args.gen_dir)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32), options=options)
    test_pb2_grpc.add_TestServiceServicer_to_server(TestService(), server)
    health_servicer = add_health(server)
    add_reflection(server, args.reflection)
    address = "%s:%d" % (args.host, args.port)
    if args.tls_cert is not None:
        with open(args.tls_key, "rb") as key, open(args.tls_cert, "rb") as cert:
            pairs = [(key.read(), cert.read())]
        if args.tls_client_ca is not None:
            with open(args.tls_client_ca, "rb") as ca:
                credentials = grpc.ssl_server_credentials(
                    pairs, root_certificates=ca.read(), require_client_auth=True
                )
        else:
            credentials = grpc.ssl_server_credentials(pairs)
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        sys.exit("cannot listen on %s:%d" % (args.host, args.port))
    server.start()
    print(port, flush=True)

    stop = threading.Event()
    # Holds the grace period of a `stop GRACE` line; empty: stop at once.
    grace = []

    def watch_stdin():
        # EOF (or an error) on stdin: the parent is gone or wants us gone.
        try:
            for line in iter(sys.stdin.buffer.readline, b""):
                words = line.split()
                if words[:1] == [b"stop"] and len(words) == 2:
                    grace.append(float(words[1]))
                    break
                if words[:1] == [b"health"]:
                    set_health(health_servicer, words[1:])
        finally:
            stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    if grace:
        server.stop(grace=grace[0]).wait()
        print("stopped", flush=True)
    else:
        server.stop(grace=None)


if __name__ == "__main__":
    main()
