// Package grpcq is the call the gRPC programs of bench/clientops time: one
// unary Check of grpc's health service, served by the same program over
// TCP on 127.0.0.1 (gRPC needs no server on the machine).
package grpcq

import (
	"context"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"example.com/clientops/loop"
)

// Setup starts the health server with the server options given, connects
// a client with the dial options given and returns the timed Check, made
// with metadata of the program's own as real clients send.
func Setup(ctx context.Context, serverOpts []grpc.ServerOption, dialOpts ...grpc.DialOption) (loop.Op, func(), error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	srv := grpc.NewServer(serverOpts...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(lis)
	conn, err := grpc.NewClient(lis.Addr().String(),
		append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, dialOpts...)...)
	if err != nil {
		srv.Stop()
		return nil, nil, err
	}
	client := healthpb.NewHealthClient(conn)
	req := &healthpb.HealthCheckRequest{}
	op := func(ctx context.Context, i int) error {
		ctx = metadata.AppendToOutgoingContext(ctx, "x-request-source", "bench")
		_, err := client.Check(ctx, req)
		return err
	}
	cleanup := func() {
		conn.Close()
		srv.Stop()
	}
	return op, cleanup, nil
}
