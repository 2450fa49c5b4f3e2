"""The sample record shared by every stage: fields, codecs, validation, raw folders and
shard spellings. Imports no other stage."""

from .codecs import EncodedSample, decode_sample, encode_sample
from .errors import SchemaError, ValidationError
from .fields import (DEFAULT_DEPTH_SCALE, MAP_FIELDS, SCENE_CATEGORIES, DepthGtKind, MaterialClass, Source, Split)
from .folder import (META_NAME, RUN_OPTIONS_NAME, FolderScan, check_run_options, read_sample, sample_dir, sample_exists, scan_samples, write_bytes_atomic,
                     write_json_atomic, write_sample)
from .keys import (build_key, check_key, flatten_key, key_from_names, key_of_folder, sanitise_key_part,
                   unflatten_key)
from .record import DepthEncoding, Intrinsics, Sample
from .stats import compute_stats, valid_ratio, with_stats
from .validate import collect_problems, validate_sample
from .version import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION", "Sample", "Intrinsics", "DepthEncoding", "Source", "DepthGtKind", "MaterialClass", "Split",
    "SCENE_CATEGORIES", "MAP_FIELDS", "DEFAULT_DEPTH_SCALE", "SchemaError", "ValidationError",
    "EncodedSample", "encode_sample", "decode_sample", "validate_sample", "collect_problems",
    "write_sample", "read_sample", "scan_samples", "sample_dir", "sample_exists", "FolderScan",
    "write_bytes_atomic", "write_json_atomic", "check_run_options", "META_NAME", "RUN_OPTIONS_NAME", "compute_stats", "with_stats", "valid_ratio",
    "build_key", "check_key", "key_from_names", "sanitise_key_part", "flatten_key", "unflatten_key", "key_of_folder",
]
