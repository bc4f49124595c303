"""Where the tests' MongoDB and RabbitMQ come from: one rule, each branch of it."""

from __future__ import annotations

from tests.support.infra import choose, docker_answers


def never() -> bool:
    raise AssertionError("a URL from the environment means Docker is not even asked")


def test_urls_from_the_environment_win_and_docker_is_not_asked() -> None:
    environ = {"MONGODB_URL": "mongodb://db:27017", "AMQP_URL": "amqp://guest:guest@mq:5672/"}
    assert choose(environ, never) == "environment"


def test_a_docker_engine_that_answers_means_containers() -> None:
    assert choose({}, lambda: True) == "containers"
    assert choose({"MONGODB_URL": "mongodb://db:27017"}, lambda: True) == "containers"


def test_without_docker_the_local_servers_are_used_or_started() -> None:
    assert choose({}, lambda: False) == "local"


def test_a_docker_client_without_an_engine_does_not_count() -> None:
    assert docker_answers({"DOCKER_HOST": "unix:///nonexistent/docker.sock"}) is False
    assert docker_answers({"DOCKER_HOST": "tcp://127.0.0.1:1"}) is False
    assert docker_answers({"DOCKER_HOST": "ssh://somewhere"}) is False
