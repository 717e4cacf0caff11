"""A Lambda function run by AWS's runtime client in the end-to-end tests (DSN in ``SENTRY_DSN``)."""

from __future__ import annotations

import logging
from typing import Any

import raven_lambda

logger = logging.getLogger("lambda_orders")


@raven_lambda.handler
def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    order_id = int(event["pathParameters"]["order_id"])
    logger.warning("refunding order %s", order_id)
    if event["httpMethod"] == "DELETE":
        ledger = {"order": order_id, "balance": -12.5}
        raise ArithmeticError(
            f"refund for order {order_id} would overdraw the ledger ({ledger['balance']})"
        )
    return {"statusCode": 200, "body": f"order {order_id} ok"}
