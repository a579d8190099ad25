"""parleykit: what the scripts under scripts/ share to drive a real `parley` binary.

    server   `Parley`: `parley serve` on 127.0.0.1 with ephemeral ports (and TLS if asked), started
             and waited for, stopped with SIGTERM (SIGKILL past a timeout), its log in a file;
             the binary named by PARLEY_BIN; free ports, /proc memory figures, dev certificates
    client   HTTP with Basic auth on http.client, ISO-8601 timestamps, `parley keys create`
    otlp     OTLP protobuf (ExportTraceServiceRequest) by hand: varints, fields, spans
    venvs    a venv of pinned PyPI packages, rebuilt only when its requirements change

Used by the reliability checks (scripts/reliability/), the real-SDK, instrumentation and console
suites (scripts/sdk/, scripts/instrumentations/, scripts/console/), the benchmarks
(scripts/bench/) and the shell entry points (venvs). Standard library only, so every one of
them can import it from its own venv or from the system python3.

Every script and conftest that imports it puts the scripts/ directory on sys.path first, with
this one line (N is how many directories the file is below scripts/, plus one):

    sys.path.insert(0, str(Path(__file__).resolve().parents[N]))  # scripts/, for parleykit
"""
