# Multi-stage build: a static binary on a distroless base, running as non-root.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/invoice-ingest ./cmd/invoice-ingest

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/invoice-ingest /invoice-ingest
ENV HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
USER nonroot:nonroot
# Healthy once /readyz on HTTP_ADDR answers (the image has no shell or curl: the binary asks itself).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ["/invoice-ingest", "healthcheck"]
ENTRYPOINT ["/invoice-ingest"]
CMD ["serve"]
