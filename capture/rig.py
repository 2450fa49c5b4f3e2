"""A rig: several co-mounted devices with names and one primary (YAML), connected together.

```yaml
name: lingbot-rig
primary: orbbec
devices:
  orbbec: {spec: "orbbec:CP1234567", options: {width: 848, height: 480}}
  zed:    {spec: "zed", options: {depth_mode: NEURAL}}
quotas:           # optional scene-category shares for the app
  office: 2
  residential_lt50: 1
total_target: 1000
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .cameras import Camera, CaptureError, Frame, driver_config_class, make_camera, parse_device_spec

DEVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


@dataclass
class DeviceConfig:
    spec: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class RigConfig:
    devices: dict[str, DeviceConfig]
    primary: str
    name: str = "rig"
    quotas: dict[str, float] | None = None
    total_target: int = 1000

    @classmethod
    def single(cls, spec: str, **options: Any) -> "RigConfig":
        name = parse_device_spec(spec).kind
        return cls(devices={name: DeviceConfig(spec, dict(options))}, primary=name, name=name)


def load_rig(path: str | Path) -> RigConfig:
    """Read and check a rig YAML; every error names the file and the key."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise CaptureError(f"rig file {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise CaptureError(f"rig file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("devices"), dict) or not data["devices"]:
        raise CaptureError(f"rig file {path}: needs a 'devices' mapping of name -> {{spec, options}}")
    unknown = sorted(set(data) - {"name", "primary", "devices", "quotas", "total_target"})
    if unknown:
        raise CaptureError(f"rig file {path}: unknown key(s) {', '.join(unknown)}")
    devices = {}
    for name, entry in data["devices"].items():
        where = f"rig file {path}: devices.{name}"
        if not isinstance(name, str) or not DEVICE_NAME.match(name):
            raise CaptureError(f"{where}: device names are [a-z0-9_-], up to 32 characters")
        if isinstance(entry, str):
            entry = {"spec": entry}
        if not isinstance(entry, dict) or "spec" not in entry:
            raise CaptureError(f"{where}: give a 'spec' such as realsense:SERIAL")
        extra = sorted(set(entry) - {"spec", "options"})
        if extra:
            raise CaptureError(f"{where}: unknown key(s) {', '.join(extra)}")
        parse_device_spec(str(entry["spec"]))
        devices[name] = DeviceConfig(str(entry["spec"]), dict(entry.get("options") or {}))
    primary = data.get("primary", next(iter(devices)))
    if primary not in devices:
        raise CaptureError(f"rig file {path}: primary {primary!r} is not one of the devices "
                           f"({', '.join(devices)})")
    rig = RigConfig(devices=devices, primary=primary, name=str(data.get("name", path.stem)),
                    quotas=data.get("quotas"), total_target=int(data.get("total_target", 1000)))
    for name, device in devices.items():  # option names are checked against the driver's config now
        where = f"rig file {path}: devices.{name}.options"
        device.options = driver_config_class(parse_device_spec(device.spec)).current_options(device.options, where)
        make_camera(device.spec, device.options, origin=where)
    return rig


class Rig:
    """The connected devices of a rig. Reads are not thread-safe; the recorder serialises them."""

    def __init__(self, config: RigConfig, cameras: dict[str, Camera] | None = None):
        self.config = config
        self.cameras: dict[str, Camera] = cameras or {
            name: make_camera(d.spec, d.options, origin=f"device {name}") for name, d in config.devices.items()}

    @property
    def primary(self) -> str:
        return self.config.primary

    def connect(self) -> None:
        connected = []
        try:
            for name, camera in self.cameras.items():
                try:
                    camera.connect()
                except CaptureError as exc:
                    raise CaptureError(f"device {name}: {exc}") from exc
                connected.append(camera)
        except BaseException:
            for camera in connected:
                camera.disconnect()
            raise

    def disconnect(self) -> None:
        for camera in self.cameras.values():
            camera.disconnect()

    def read_all(self) -> dict[str, Frame]:
        """One frame from every device (primary first); a failure names the device."""
        frames = {}
        for name in [self.primary] + [n for n in self.cameras if n != self.primary]:
            try:
                frames[name] = self.cameras[name].read()
            except CaptureError as exc:
                raise type(exc)(f"device {name}: {exc}") from exc
        return frames

    def __enter__(self) -> "Rig":
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.disconnect()
