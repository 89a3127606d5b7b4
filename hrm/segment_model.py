"""What the solver, the TUI and the CLI use of a loaded model, whichever engine runs it.

hrm.model.HRM (torch) and hrm.numpy_engine.NumpyHRM (numpy) both satisfy `SegmentModel`. Their
`segment` methods are not part of it: torch's takes a batch dict, numpy's the token and identifier
arrays, so hrm.solver runs each engine through its own carry (`_TorchRun`, `_NumpyRun`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    import torch

    from hrm.config import ModelConfig

Array = TypeVar("Array")  # torch.Tensor for HRM, np.ndarray for NumpyHRM


@runtime_checkable
class SegmentModel(Protocol[Array]):
    config: ModelConfig

    @property
    def device(self) -> torch.device | str: ...

    def eval(self) -> SegmentModel[Array]: ...

    def num_parameters(self) -> int: ...

    def initial_state(self, batch_size: int) -> tuple[Array, Array]:
        """(z_H, z_L), each [batch_size, prefix + seq_len, hidden]."""
        ...

    def wants_to_halt(self, q_logits: Array) -> Array:
        """[B] bool: the model's halt rule on one segment's q_logits [B, 1|2]."""
        ...
