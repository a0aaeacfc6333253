from django.contrib.auth import views as auth_views
from django.urls import path

from carevalue.web import board_pack, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path(
        "login/", auth_views.LoginView.as_view(template_name="carevalue/login.html"), name="login"
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("c/<slug:condition>/pack/", board_pack.board_pack_html, name="board_pack"),
    path("c/<slug:condition>/pack.pdf", board_pack.board_pack_pdf, name="board_pack_pdf"),
    path("c/<slug:condition>/<slug:slug>/", views.condition_page, name="page"),
    path(
        "c/<slug:condition>/<slug:slug>/<slug:panel_id>.<str:fmt>", views.download, name="download"
    ),
]
