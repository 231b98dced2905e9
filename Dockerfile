# One image runs every service; the command picks which (`mlc run NAME`).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_PROJECT_ENVIRONMENT=/opt/venv PATH=/opt/venv/bin:$PATH
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY libs libs
COPY services services
COPY schemas schemas
RUN uv sync --frozen --no-dev
# Every audit record carries it (docs/operations.md); the image has no .git to ask:
#   docker build --build-arg MLC_BUILD_VERSION="0.1.0+g$(git rev-parse --short=12 HEAD)" .
ARG MLC_BUILD_VERSION=""
ENV MLC_BUILD_VERSION=$MLC_BUILD_VERSION
USER 65534
ENTRYPOINT ["mlc"]
