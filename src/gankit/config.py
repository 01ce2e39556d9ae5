"""The run configuration, re-exported from :mod:`gankit.configuration`, where it is split by
concept: the schema (:mod:`~gankit.configuration.schema`), plain data to it
(:mod:`~gankit.configuration.reading`), the hardened YAML reader
(:mod:`~gankit.configuration.yaml_io`), composition with the source of each value
(:mod:`~gankit.configuration.compose`) and message formatting
(:mod:`~gankit.configuration.messages`). ``from gankit.config import Config`` keeps working.
"""

from gankit.configuration.compose import (
    PRESETS,
    SHIPPED_CONFIGS,
    Composition,
    Source,
    compose,
    config_summary,
    merge,
    parse_overrides,
    read_config_data,
    shipped_configs,
)
from gankit.configuration.messages import key_text, printable, range_problem, refuse_set, show_value
from gankit.configuration.reading import MAX_LIST, MAX_TEXT, MOVED_KEYS, from_dict
from gankit.configuration.schema import (
    DEVICE,
    DEVICES,
    FEATURES,
    INT64_RANGE,
    MAX_EVAL_SAMPLES,
    MAX_STEPS,
    MAX_WIDTH,
    NONFINITE_POLICIES,
    NORMS,
    PRECISIONS,
    SEED_RANGE,
    Config,
    DataConfig,
    LossConfig,
    ModelConfig,
    TrainConfig,
    bounded,
    check_n_eval,
)
from gankit.configuration.yaml_io import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_VALUES,
    ConfigDumper,
    ConfigLoader,
    dump_yaml,
    load_yaml,
    read_yaml,
)
from gankit.errors import ConfigError

__all__ = [
    "DEVICE", "DEVICES", "FEATURES", "INT64_RANGE", "MAX_DEPTH", "MAX_EVAL_SAMPLES",
    "MAX_FILE_BYTES", "MAX_LIST", "MAX_STEPS", "MAX_TEXT", "MAX_VALUES", "MAX_WIDTH",
    "MOVED_KEYS", "NONFINITE_POLICIES", "NORMS", "PRECISIONS", "PRESETS", "SEED_RANGE",
    "SHIPPED_CONFIGS", "Composition", "Config", "ConfigDumper", "ConfigError", "ConfigLoader",
    "DataConfig", "LossConfig", "ModelConfig", "Source", "TrainConfig", "bounded",
    "check_n_eval", "compose", "config_summary", "dump_yaml", "from_dict", "key_text",
    "load_yaml", "merge", "parse_overrides", "printable", "range_problem", "read_config_data",
    "read_yaml", "refuse_set", "shipped_configs", "show_value",
]
