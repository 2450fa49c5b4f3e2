"""Fuzzing the sample record's decoding and validation: bad bytes, dtypes, shapes, non-finite numbers
and declared sizes all end in SchemaError -- never another exception, a hang, a giant allocation or a
written sample."""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys
import tempfile
import textwrap
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

from depthcur.schemas import MAP_FIELDS, Intrinsics, SchemaError, read_sample, validate_sample, write_sample
from depthcur.schemas.codecs import JPEG_MAGIC, NPY_MAGIC, PNG_MAGIC, decode_map, encode_npy, encode_sample
from depthcur.schemas.containers import wds_to_sample
from depthcur.synthetic import make_sample

FUZZ = settings(deadline=None, max_examples=30, suppress_health_check=[HealthCheck.too_slow])

BASE = make_sample("sim/fuzz/0001", height=12, width=16, seed=1)
ENCODED = encode_sample(BASE)
# the maps the synthetic sample holds (a field it leaves out, such as depth_raw_filtered, is optional)
FIELD_NAMES = [f.name for f in MAP_FIELDS if getattr(BASE, f.name) is not None]
# each field's right shape: its own, or for a field the sample leaves out that of a held one on its grid
SHAPES = {f.name: next(getattr(BASE, g.name).shape for g in MAP_FIELDS if g.name in FIELD_NAMES
                       and (g.grid, g.channels) == (f.grid, f.channels)) for f in MAP_FIELDS}
DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
          "float32", "float64", "complex64"]


def base_meta() -> dict:
    return json.loads(json.dumps(ENCODED.meta))


def base_blobs() -> dict[str, tuple[str, bytes]]:
    return dict(ENCODED.blobs)


def write_raw(root: Path, meta, blobs: dict[str, tuple[str, bytes]]) -> Path:
    """A sample folder as a buggy producer would leave it: files written directly, nothing checked."""
    folder = root / "raw/sample"
    folder.mkdir(parents=True)
    if isinstance(meta, dict):
        meta["maps"] = {name: ext for name, (ext, _) in blobs.items()}
    for name, (ext, data) in blobs.items():
        (folder / f"{name}.{ext}").write_bytes(data)
    (folder / "meta.json").write_bytes(meta if isinstance(meta, bytes) else json.dumps(meta).encode())
    return folder


def read_validate_write(folder: Path, out: Path) -> Path:
    """The curate path in miniature: read a raw folder, validate it, write it to ``out``."""
    return write_sample(out, validate_sample(read_sample(folder)))


def assert_refused(meta, blobs: dict[str, tuple[str, bytes]]) -> SchemaError:
    with tempfile.TemporaryDirectory() as tmp:
        folder, out = write_raw(Path(tmp), meta, blobs), Path(tmp) / "out"
        with pytest.raises(SchemaError) as caught:
            read_validate_write(folder, out)
        assert not out.exists() or not any(out.rglob("*")), "a refused sample left files behind"
    return caught.value


def assert_refused_or_round_trips(meta, blobs: dict[str, tuple[str, bytes]]) -> None:
    """For changes that may be harmless: either SchemaError (nothing written) or a sample that reads back."""
    with tempfile.TemporaryDirectory() as tmp:
        folder, out = write_raw(Path(tmp), meta, blobs), Path(tmp) / "out"
        try:
            written = read_validate_write(folder, out)
        except SchemaError:
            assert not out.exists() or not any(out.rglob("*")), "a refused sample left files behind"
            return
        again = validate_sample(read_sample(written))
        assert again.key == read_sample(folder).key
        np.testing.assert_array_equal(again.rgb, read_sample(folder).rgb)


def test_the_untouched_base_sample_round_trips():
    """The fixture the fuzzers mutate is itself valid, so every refusal below is the mutation's doing."""
    assert_refused_or_round_trips(base_meta(), base_blobs())
    with tempfile.TemporaryDirectory() as tmp:
        written = read_validate_write(write_raw(Path(tmp), base_meta(), base_blobs()), Path(tmp) / "out")
        np.testing.assert_allclose(read_sample(written).depth_gt, BASE.depth_gt, atol=0.0005)   # mm units


# ---------------------------------------------------------------- payload bytes

@FUZZ
@given(field=st.sampled_from(FIELD_NAMES), magic=st.sampled_from([b"", PNG_MAGIC, NPY_MAGIC, JPEG_MAGIC]),
       body=st.binary(max_size=600))
def test_random_bytes_as_a_map_payload_are_refused(field, magic, body):
    blobs = base_blobs()
    ext = "npy" if magic == NPY_MAGIC else "jpg" if magic == JPEG_MAGIC and field == "rgb" else "png"
    blobs[field] = (ext, magic + body)
    assert assert_refused(base_meta(), blobs).field == field


@FUZZ
@given(field=st.sampled_from(FIELD_NAMES), data=st.data())
def test_truncated_or_flipped_payloads_are_refused_or_harmless(field, data):
    ext, payload = ENCODED.blobs[field]
    cut = data.draw(st.integers(0, len(payload)))
    flip = data.draw(st.integers(0, len(payload) - 1))
    mutated = bytearray(payload[:cut] if data.draw(st.booleans()) else payload)
    if flip < len(mutated):
        mutated[flip] ^= data.draw(st.integers(1, 255))
    blobs = base_blobs()
    blobs[field] = (ext, bytes(mutated))
    assert_refused_or_round_trips(base_meta(), blobs)


# ---------------------------------------------------------------- dtypes and shapes

@st.composite
def wrong_maps(draw):
    """(field, array) with a dtype or a shape that field does not allow."""
    spec = draw(st.sampled_from(MAP_FIELDS))
    if draw(st.booleans()):
        dtype = draw(st.sampled_from([d for d in DTYPES if d not in spec.dtypes]))
        shape = SHAPES[spec.name]
    else:
        dtype = draw(st.sampled_from(spec.dtypes))
        shape = draw(array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=20))
        assume(shape != SHAPES[spec.name])
    return spec.name, np.ones(shape, dtype=dtype)


@FUZZ
@given(wrong=wrong_maps())
def test_wrong_dtype_or_shape_is_refused_by_the_writer(wrong, tmp_path_factory):
    name, array = wrong
    out = tmp_path_factory.mktemp("out")
    with pytest.raises(SchemaError) as caught:
        write_sample(out, BASE.replace(**{name: array}))
    assert name in str(caught.value)      # named as the field at fault, or as the one another disagrees with
    assert not any(out.rglob("*"))


@FUZZ
@given(wrong=wrong_maps())
def test_wrong_dtype_or_shape_stored_as_npy_is_refused_by_the_reader(wrong):
    name, array = wrong
    blobs = base_blobs()
    blobs[name] = ("npy", encode_npy(array))
    assert_refused(base_meta(), blobs)


# ---------------------------------------------------------------- non-finite numbers in meta

FLOAT_FIELDS = ([("K_rgb", i) for i in range(4)] + [("K_ir", i) for i in range(4)] + [("baseline_m",)]
                + [("T_rgb_from_ir", i) for i in range(16)]
                + [("depth_encoding", name, "scale") for name in ENCODED.meta["depth_encoding"]]
                + [("stats", name) for name in ENCODED.meta["stats"]])


def set_at(meta: dict, where: tuple, value) -> dict:
    target = meta
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = value
    return meta


@FUZZ
@given(where=st.sampled_from(FLOAT_FIELDS), value=st.sampled_from([math.nan, math.inf, -math.inf]))
def test_non_finite_numbers_in_every_float_field_are_refused(where, value):
    error = assert_refused(set_at(base_meta(), where, value), base_blobs())
    assert where[0] in str(error)


@pytest.mark.parametrize("change", [
    {"K_rgb": Intrinsics(math.nan, 1.0, 1.0, 1.0)}, {"K_ir": Intrinsics(1.0, math.inf, 1.0, 1.0)},
    {"baseline_m": math.nan}, {"T_rgb_from_ir": np.full((4, 4), math.inf)}, {"stats": {"mask_ratio": math.nan}}])
def test_non_finite_numbers_in_memory_are_refused_by_the_writer(change, tmp_path):
    with pytest.raises(SchemaError, match=next(iter(change))):
        write_sample(tmp_path, BASE.replace(**change))
    assert not any(tmp_path.rglob("*"))


# ---------------------------------------------------------------- meta.json itself

JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                                       max_size=4),
                           max_leaves=8)


@FUZZ
@given(meta=st.one_of(st.binary(max_size=200), JSON_VALUES.filter(lambda v: not isinstance(v, dict))))
def test_meta_json_that_is_not_an_object_is_refused(meta):
    raw = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
    assume(not isinstance(meta, bytes) or not raw.strip().startswith(b"{"))
    assert_refused(raw, base_blobs())


def deeply_nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("where", ["top", "provenance", "stats"])
@pytest.mark.parametrize("depth", [33, 990, 100_000])
def test_deeply_nested_meta_json_is_refused_naming_the_file(where, depth):
    """Below, near and far beyond the parser's recursion limit: always SchemaError naming meta.json."""
    meta = deeply_nested(depth) if where == "top" else \
        json.dumps(set_at(base_meta(), (where,), {"x": "@"})).replace('"@"', deeply_nested(depth - 2))
    error = assert_refused(meta.encode(), base_blobs())
    assert error.path.endswith("meta.json") and "meta.json nests" in error.reason and "the 32 levels a record allows" in error.reason
    members = {"__key__": "sim/fuzz/0001", "meta.json": meta.encode(),
               **{f"{name}.{ext}": data for name, (ext, data) in ENCODED.blobs.items()}}
    with pytest.raises(SchemaError, match="meta.json nests"):
        wds_to_sample(members, path="shard-000.tar")


def test_the_deepest_meta_json_a_record_allows_reads_back():
    """32 levels: meta.json {provenance {steps [30 lists]}}."""
    meta = json.dumps(set_at(base_meta(), ("provenance",), {"steps": "@"})).replace('"@"', deeply_nested(30))
    assert_refused_or_round_trips(meta.encode(), base_blobs())
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_raw(Path(tmp), meta.encode(), base_blobs())
        assert json.dumps(read_sample(folder).provenance["steps"]) == deeply_nested(30)


BOOLEAN_NUMBERS = [("baseline_m",)] + [("depth_encoding", name, "scale") for name in ENCODED.meta["depth_encoding"]] \
    + [("stats", name) for name in ENCODED.meta["stats"]] \
    + [("K_rgb", 0), ("K_ir", 3), ("T_rgb_from_ir", 15)]   # true = 1.0 would even make a valid last row


@pytest.mark.parametrize("where", BOOLEAN_NUMBERS, ids=lambda where: "/".join(map(str, where)))
@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_no_numbers_in_meta(where, value):
    """JSON true/false where a number belongs (Python would take them as 1 and 0) is refused, naming the field."""
    error = assert_refused(set_at(base_meta(), where, value), base_blobs())
    field = ".".join(where[:2]) if where[0] == "depth_encoding" else where[0]
    assert error.field == field and f"field {field!r}" in str(error)


@pytest.mark.parametrize("missing", ["key", "source", "dataset", "K_rgb", "K_ir", "depth_gt_kind",
                                     "schema_version"])
def test_missing_meta_fields_are_refused(missing):
    meta = base_meta()
    del meta[missing]
    assert missing in str(assert_refused(meta, base_blobs()))


@FUZZ
@given(name=st.sampled_from(sorted(set(ENCODED.meta) - {"maps"})), value=JSON_VALUES)
def test_any_json_in_any_meta_field_is_refused_or_harmless(name, value):
    assert_refused_or_round_trips(set_at(base_meta(), (name,), value), base_blobs())


@FUZZ
@given(name=st.text(max_size=12), ext=st.sampled_from(["png", "npy", "jpg", "txt", "", "png/../x"]))
def test_unknown_map_names_never_open_other_files(name, ext):
    assume(name not in FIELD_NAMES)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_raw(Path(tmp), base_meta(), base_blobs())
        meta = json.loads((folder / "meta.json").read_text())
        meta["maps"][name] = ext
        (folder / "meta.json").write_text(json.dumps(meta))
        with pytest.raises(SchemaError, match="unknown map"):
            read_sample(folder)


@FUZZ
@given(raw_meta=st.binary(max_size=200))
def test_webdataset_meta_member_of_random_bytes_is_refused(raw_meta):
    members = {"__key__": "sim/fuzz/0001", "meta.json": raw_meta,
               **{f"{name}.{ext}": data for name, (ext, data) in ENCODED.blobs.items()}}
    assume(not raw_meta.strip().startswith(b"{"))
    with pytest.raises(SchemaError):
        validate_sample(wds_to_sample(members))


# ---------------------------------------------------------------- declared sizes

def png_declaring(width: int, height: int, colour_type: int = 0, bit_depth: int = 16) -> bytes:
    """A PNG whose header declares width x height but whose pixel data is a few bytes."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return PNG_MAGIC + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def jpeg_declaring(width: int, height: int) -> bytes:
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return JPEG_MAGIC[:2] + sof + b"\xff\xda" + bytes(100) + b"\xff\xd9"


def npy_declaring(shape: tuple[int, ...], dtype: str = "<f4") -> bytes:
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return NPY_MAGIC + b"\x01\x00" + struct.pack("<H", len(header)) + header + bytes(64)


SIDES = st.integers(1, 2 ** 31 - 1)


@FUZZ
@given(kind=st.sampled_from(["png", "jpeg", "npy"]), width=SIDES, height=SIDES,
       field=st.sampled_from(FIELD_NAMES))
def test_declared_sizes_beyond_the_bytes_fail_without_allocating(kind, width, height, field):
    if kind == "jpeg":
        width, height, field = min(width, 65535), min(height, 65535), "rgb"
    assume(width * height > 10_000)      # more pixels than a few hundred bytes can hold
    make = {"png": lambda: png_declaring(width, height, colour_type=2 if field == "rgb" else 0),
            "jpeg": lambda: jpeg_declaring(width, height), "npy": lambda: npy_declaring((height, width))}[kind]
    data = make()
    tracemalloc.start()
    try:
        with pytest.raises(SchemaError):
            decode_map(field, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"{peak} bytes allocated for a {len(data)}-byte {kind}"


def test_declared_sizes_do_not_reserve_memory_in_the_decoders():
    """OpenCV's allocations are invisible to tracemalloc, so a fresh process watches its own peak
    virtual size (VmPeak) while it decodes headers declaring 2-7 GB; a decoder that allocated first
    would raise the peak by that much even if it then failed."""
    script = textwrap.dedent(f"""
        import sys
        sys.path[:0] = {[str(Path(__file__).parent)]!r}
        from test_schemas_fuzz import ENCODED, jpeg_declaring, npy_declaring, png_declaring
        from depthcur.schemas import SchemaError
        from depthcur.schemas.codecs import decode_map, encode_rgb

        # decode real maps first, so thread pools and allocator arenas exist before the measurement
        for name, (_, data) in ENCODED.blobs.items():
            decode_map(name, data)
        decode_map("rgb", encode_rgb(decode_map("rgb", ENCODED.blobs["rgb"][1]), "jpeg"))

        def vm_peak():
            return int(next(l for l in open("/proc/self/status") if l.startswith("VmPeak")).split()[1]) * 1024

        bombs = [("depth_gt", png_declaring(30000, 30000, colour_type=6)), ("rgb", png_declaring(30000, 30000, 2, 8)),
                 ("rgb", jpeg_declaring(30000, 30000)), ("disparity_gt", npy_declaring((30000, 30000), "<f8"))]
        before = vm_peak()
        for field, data in bombs:
            try:
                decode_map(field, data)
                print("decoded", field)
            except SchemaError:
                pass
        print(vm_peak() - before)
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "decoded" not in run.stdout
    assert int(run.stdout.split()[-1]) < 256 << 20, run.stdout
