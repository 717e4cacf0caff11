from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("ok/", views.ok, name="ok"),
    path("handled/", views.handled, name="handled"),
    path("boom/", views.boom, name="boom"),
    path("query-boom/", views.query_then_boom, name="query-boom"),
    path("raw-sql-boom/", views.raw_sql_boom),
    path("lazy-locals-boom/", views.lazy_locals_boom),
    path("template-boom/", views.template_boom, name="template-boom"),
    path("template-syntax-boom/", views.template_syntax_boom, name="template-syntax-boom"),
    path("public-dsn/", views.public_dsn),
    path("async-boom/", views.async_boom, name="async-boom"),
    path("whoami-boom/", views.whoami_boom, name="whoami-boom"),
    path("async-whoami-boom/", views.async_whoami_boom, name="async-whoami-boom"),
    path("set-context/", views.set_context),
    path("consume-body-boom/", views.consume_body_boom, name="consume-body-boom"),
    path("post-boom/", views.post_boom, name="post-boom"),
    path("log-error/", views.log_error),
    path("stream-boom/", views.stream_boom),
    path("async-capture/", views.async_capture),
    path("log-then-boom/", views.log_then_boom),
    path("log-capture-boom/", views.log_capture_boom, name="log-capture-boom"),
    path("async-log-capture-boom/", views.async_log_capture_boom, name="async-log-capture-boom"),
    path("atomic-capture/", views.atomic_capture),
    path("items/<int:pk>/boom/", views.boom, name="item-boom"),
]
