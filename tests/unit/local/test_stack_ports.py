"""Where ``make local`` takes its ports from: the environment, else the documented defaults."""

from __future__ import annotations

import pytest
from local.stack import PORT_VARIABLES, PortError, ports_from_environment


def test_given_no_port_variables_then_the_documented_defaults() -> None:
    # When no variable is set
    ports = ports_from_environment({})

    # Then the API is on 3000, moto on a free port, the sandboxes on 8701-8703
    assert ports == {"api": 3000, "moto": 0, "creatify": 8701, "jogg": 8702, "prodvisual": 8703}


def test_given_every_port_variable_then_each_port_is_the_variables() -> None:
    # Given a value per variable
    environ = {variable: str(40000 + i) for i, variable in enumerate(PORT_VARIABLES.values())}

    # When the ports are read
    ports = ports_from_environment(environ)

    # Then each one comes from its own variable
    assert {PORT_VARIABLES[name]: str(port) for name, port in ports.items()} == environ


def test_given_zero_then_any_free_port() -> None:
    assert ports_from_environment({"CREATIFY_SANDBOX_PORT": "0"})["creatify"] == 0


@pytest.mark.parametrize("value", ["http", "-1", "65536", "3000.5"])
def test_given_a_value_that_is_not_a_port_then_an_error_names_the_variable(value: str) -> None:
    with pytest.raises(PortError, match="JOGG_SANDBOX_PORT"):
        ports_from_environment({"JOGG_SANDBOX_PORT": value})
