"""integration-service against real MongoDB-compatible server and RabbitMQ."""
