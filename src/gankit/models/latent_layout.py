r"""The parts of a generator's input: its noise and its codes (a class label, InfoGAN's codes).

A conditional or structured generator takes one vector z = [noise, code_1, ..., code_k]:

- a categorical code of K values enters as its one-hot [K]: CGAN's condition y (Mirza &
  Osindero 2014, Sec. 3.2, y fed to G "as additional input layer"), AC-GAN's class (Odena et
  al. 2017), InfoGAN's $c \sim \mathrm{Cat}(K)$ (Chen et al. 2016, Sec. 6);
- a continuous code enters as one coordinate $c \sim U(-1, 1)$ (InfoGAN's MNIST codes).

Keeping the condition inside the latent lets every latent source (the prior, the truncation
trick) and every consumer of z (``generate``, export, interpolation) work unchanged, and lets a
recipe read the condition back from z (:meth:`LatentLayout.values`) to give it to D. The
unconditional recipes have a layout of noise alone, drawn as before: ``randn(n, dim)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.configuration.messages import FLOAT32_MAX, FLOAT32_TINY, show_value
from gankit.errors import GankitError

NOISES = ("normal", "uniform")  # N(0, I), or U(-1, 1) per coordinate (InfoGAN's MNIST noise)
CLASS = "class"  # the name of a conditional recipe's one categorical code
# A code's value: one for all n draws, or one per draw [n]
CodeValue = int | float | Tensor


@dataclass(frozen=True)
class Code:
    """One code of the latent: categorical over 0..classes-1 when ``classes`` > 0 (fed as a
    one-hot), else continuous, c ~ U(-1, 1) (fed as one coordinate)."""

    name: str
    classes: int = 0

    @property
    def categorical(self) -> bool:
        return self.classes > 0

    @property
    def width(self) -> int:
        return self.classes or 1

    def describe(self) -> str:
        return (f"0..{self.classes - 1}" if self.categorical else
                f"0 or a real number of magnitude in [{FLOAT32_TINY:.8g}, {FLOAT32_MAX:.8g}], "
                f"float32's normal range (prior U(-1, 1))")

    def tensor(self, value: CodeValue) -> Tensor:
        """``value`` (one for all draws, or one per draw) as a checked tensor (:meth:`check`):
        a class as int64, a continuous code as float32, as z holds them. A value that is no
        tensor yet is read as float64 on the CPU first and checked there, so that no int is
        made an int64 before the class range is checked (2^63 would overflow it) and a
        number only float32 would make inf (1e39) is refused, not fed to G."""
        if isinstance(value, Tensor):
            tensor = value.detach()
        else:
            try:
                tensor = torch.as_tensor(value, dtype=torch.float64)
            except (TypeError, ValueError, OverflowError):  # text, a ragged list, 10^400
                raise GankitError(f"{self.name} takes {self.describe()}, one value or one per "
                                  f"sample, got {show_value(value)}") from None
        self.check(tensor, value if isinstance(value, (int, float)) else None)
        return tensor.long() if self.categorical else tensor.float()

    def check(self, value: Tensor, given: int | float | None = None) -> None:
        """A categorical code takes whole numbers in 0..classes-1; a continuous one 0 or any
        number normal in float32 (a traversal goes past the prior's [-1, 1] on purpose). One line
        naming the bad value (``given`` as typed, if it was one number) and what is allowed."""
        v = value.detach().cpu().double().reshape(-1)
        if self.categorical:
            bad = v[(v != v.round()) | (v < 0) | (v >= self.classes) | ~v.isfinite()]
        else:
            magnitude = v.float().abs()  # a subnormal (1e-40) is one a GPU flushes to 0
            bad = v[~magnitude.isfinite() | ((magnitude < FLOAT32_TINY) & (v != 0))]
        if len(bad):
            first = float(bad[0]) if given is None else given
            # a whole number as one, unless float64 has rounded it (10^30 shows as 1e+30)
            if isinstance(first, float) and first.is_integer() and abs(first) < 2**53:
                first = int(first)
            raise GankitError(f"{self.name} {show_value(first)} does not fit this run's "
                              f"latent: {self.name} takes {self.describe()}")


@dataclass(frozen=True)
class LatentLayout:
    """z = [noise (noise_dim), codes in order]; :attr:`width` is what the generator takes."""

    noise_dim: int
    codes: tuple[Code, ...] = ()
    noise: str = "normal"

    def __post_init__(self) -> None:
        names = [code.name for code in self.codes]
        if len(set(names)) != len(names) or "noise" in names:
            raise ValueError(f"code names must be distinct and not 'noise', got {names}")
        if self.noise not in NOISES:
            raise ValueError(f"noise must be one of {NOISES}, got {self.noise!r}")

    @property
    def width(self) -> int:
        return self.noise_dim + sum(code.width for code in self.codes)

    @property
    def conditional(self) -> bool:
        return bool(self.codes)

    def code(self, name: str) -> Code:
        for code in self.codes:
            if code.name == name:
                return code
        known = ", ".join(code.name for code in self.codes) or "none: it is unconditional"
        raise GankitError(f"this run's latent has no code {show_value(name)} (its codes: {known})")

    def slices(self) -> dict[str, slice]:
        """Where each part lies in z: ``noise`` and every code by name."""
        out, start = {"noise": slice(0, self.noise_dim)}, self.noise_dim
        for code in self.codes:
            out[code.name] = slice(start, start + code.width)
            start += code.width
        return out

    def draw_noise(self, n: int, generator: torch.Generator) -> Tensor:
        shape, device = (n, self.noise_dim), generator.device
        if self.noise == "uniform":
            return torch.rand(shape, generator=generator, device=device) * 2 - 1
        return torch.randn(shape, generator=generator, device=device)

    def draw(self, n: int, generator: torch.Generator,
             fixed: Mapping[str, CodeValue] | None = None, noise: Tensor | None = None) -> Tensor:
        """``n`` latents [n, width] from the prior: the noise (or ``noise`` [n, noise_dim] as
        given, a truncated draw say), then each code, all drawn in that order; codes in
        ``fixed`` then take their given values (:meth:`fix`), so fixing a code keeps the
        noise and the other codes that a seed gives."""
        parts = [self.draw_noise(n, generator) if noise is None else noise]
        device = generator.device
        for code in self.codes:
            if code.categorical:
                value = torch.randint(code.classes, (n,), generator=generator, device=device)
            else:
                value = torch.rand(n, generator=generator, device=device) * 2 - 1
            parts.append(self.encode(code, value))
        z = torch.cat(parts, 1) if len(parts) > 1 else parts[0]
        return self.fix(z, fixed) if fixed else z

    def checked(self, fixed: Mapping[str, CodeValue]) -> dict[str, Tensor]:
        """The values of the named codes as tensors, each name and value checked
        (:meth:`Code.tensor`): one line naming a bad name or value, before any draw."""
        return {name: self.code(name).tensor(value) for name, value in fixed.items()}

    def fix(self, z: Tensor, fixed: Mapping[str, CodeValue]) -> Tensor:
        """Latents z [n, width] with the named codes set to the given values (one for all, or
        one per row), each checked against its code (:meth:`checked`)."""
        values = {}
        for name, value in self.checked(fixed).items():
            if value.dim() == 0:
                value = value.expand(len(z))
            elif value.shape != (len(z),):
                raise GankitError(f"{name} takes one value or one per sample ({len(z)}), got "
                                  f"{list(value.shape)} values")
            values[name] = value
        return self.with_values(z, values)

    @staticmethod
    def encode(code: Code, value: Tensor) -> Tensor:
        """A code's values [n] as its part of z: one-hot [n, K] or one column [n, 1]."""
        if code.categorical:
            return F.one_hot(value.long(), code.classes).float()
        return value.float()[:, None]

    def values(self, z: Tensor) -> dict[str, Tensor]:
        """The codes read back from latents z [n, width]: a categorical code's class int64 [n]
        (the largest entry of its part), a continuous code's value [n]."""
        slices, out = self.slices(), {}
        for code in self.codes:
            part = z[:, slices[code.name]]
            out[code.name] = part.argmax(1) if code.categorical else part[:, 0]
        return out

    def with_values(self, z: Tensor, values: Mapping[str, Tensor]) -> Tensor:
        """Latents z with the codes in ``values`` replaced (same noise)."""
        slices, parts = self.slices(), [z[:, :self.noise_dim]]
        for code in self.codes:
            if code.name in values:
                parts.append(self.encode(code, values[code.name].to(z.device)).to(z.dtype))
            else:
                parts.append(z[:, slices[code.name]])
        return torch.cat(parts, 1)

    def describe(self) -> dict[str, object]:
        """The layout as plain data (JSON): where the noise and each code lie in z, so a
        user of an exported generator can build its input."""
        slices = self.slices()
        return {"noise": {"start": 0, "stop": self.noise_dim, "prior": self.noise},
                "codes": [{"name": code.name, "start": slices[code.name].start,
                           "stop": slices[code.name].stop,
                           "kind": "one-hot" if code.categorical else "U(-1, 1)",
                           **({"classes": code.classes} if code.categorical else {})}
                          for code in self.codes]}
