"""The shared problem model of hetserve: catalogs, instance, performance model,
solution, evaluator, result type, generators and bundled instances.

``milp`` and ``heuristics`` depend on this package and never on each other.
"""

from hetserve.instances.catalog import (
    DEFAULT_PRECISIONS as DEFAULT_PRECISIONS,
)
from hetserve.instances.catalog import (
    TASK_CATEGORIES as TASK_CATEGORIES,
)
from hetserve.instances.catalog import (
    Catalog as Catalog,
)
from hetserve.instances.catalog import (
    GpuType as GpuType,
)
from hetserve.instances.catalog import (
    ModelSpec as ModelSpec,
)
from hetserve.instances.catalog import (
    Precision as Precision,
)
from hetserve.instances.catalog import (
    load_catalog as load_catalog,
)
from hetserve.instances.errors import InstanceError as InstanceError
from hetserve.instances.evaluate import (
    CostBreakdown as CostBreakdown,
)
from hetserve.instances.evaluate import (
    Evaluation as Evaluation,
)
from hetserve.instances.evaluate import (
    Violation as Violation,
)
from hetserve.instances.evaluate import (
    evaluate as evaluate,
)
from hetserve.instances.evaluate import (
    evaluate_arrays as evaluate_arrays,
)
from hetserve.instances.evaluate import (
    relative_gap as relative_gap,
)
from hetserve.instances.io import (
    instance_from_dict as instance_from_dict,
)
from hetserve.instances.io import (
    read_instance as read_instance,
)
from hetserve.instances.io import (
    write_instance as write_instance,
)
from hetserve.instances.model import (
    Config as Config,
)
from hetserve.instances.model import (
    Instance as Instance,
)
from hetserve.instances.model import (
    QueryType as QueryType,
)
from hetserve.instances.model import (
    RouteTable as RouteTable,
)
from hetserve.instances.model import (
    Tier as Tier,
)
from hetserve.instances.performance import PerfConstants as PerfConstants
from hetserve.instances.result import RunResult as RunResult
from hetserve.instances.result import Status as Status
from hetserve.instances.solution import (
    Deployment as Deployment,
)
from hetserve.instances.solution import (
    Route as Route,
)
from hetserve.instances.solution import (
    Solution as Solution,
)
