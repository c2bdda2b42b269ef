"""The shared problem model of hetserve: catalogs, instance, performance model,
solution, evaluator, result type, generators and bundled instances.

``milp`` and ``heuristics`` depend on this package and never on each other.
"""

from instances.catalog import (
    DEFAULT_PRECISIONS as DEFAULT_PRECISIONS,
)
from instances.catalog import (
    TASK_CATEGORIES as TASK_CATEGORIES,
)
from instances.catalog import (
    Catalog as Catalog,
)
from instances.catalog import (
    GpuType as GpuType,
)
from instances.catalog import (
    ModelSpec as ModelSpec,
)
from instances.catalog import (
    Precision as Precision,
)
from instances.catalog import (
    load_catalog as load_catalog,
)
from instances.errors import InstanceError as InstanceError
from instances.evaluate import (
    CostBreakdown as CostBreakdown,
)
from instances.evaluate import (
    Evaluation as Evaluation,
)
from instances.evaluate import (
    Violation as Violation,
)
from instances.evaluate import (
    evaluate as evaluate,
)
from instances.evaluate import (
    evaluate_arrays as evaluate_arrays,
)
from instances.evaluate import (
    relative_gap as relative_gap,
)
from instances.io import (
    instance_from_dict as instance_from_dict,
)
from instances.io import (
    read_instance as read_instance,
)
from instances.io import (
    write_instance as write_instance,
)
from instances.model import (
    Config as Config,
)
from instances.model import (
    Instance as Instance,
)
from instances.model import (
    QueryType as QueryType,
)
from instances.model import (
    RouteTable as RouteTable,
)
from instances.model import (
    Tier as Tier,
)
from instances.performance import PerfConstants as PerfConstants
from instances.result import RunResult as RunResult
from instances.result import Status as Status
from instances.solution import (
    Deployment as Deployment,
)
from instances.solution import (
    Route as Route,
)
from instances.solution import (
    Solution as Solution,
)
