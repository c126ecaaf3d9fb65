#!/usr/bin/perl
# Drives the real Perl client Monitoring::Livestatus for the e2e tests.
#
#   perl mlclient.pl SOCKET KEEPALIVE < steps.json
#
# SOCKET is a UNIX socket path, or HOST:PORT for TCP.
#
# steps.json is a list of {"op": "all"|"row"|"scalar"|"do", "q": "..."};
# the answer on stdout is one JSON list with, per step, either
# {"ok": 1, "result": ..., "seconds": ...} or
# {"ok": 0, "code": ..., "message": ..., "seconds": ...}, plus "port": the
# local TCP port of the connection the client keeps after the step (0 for
# none: no keepalive, or a UNIX socket), so a test can see KeepAlive reuse
# one connection rather than the client silently reconnecting.
# Errors are not fatal so that every step reports how the client saw it.
use strict;
use warnings;
use JSON::PP;
use Monitoring::Livestatus;
use Time::HiRes qw(time);

my ($socket, $keepalive) = @ARGV;
die "usage: $0 SOCKET KEEPALIVE < steps.json\n" unless defined $keepalive;
my $steps = decode_json(do { local $/; <STDIN> });

# An absolute path is a UNIX socket; HOST:PORT is TCP (the proxy's TCP
# listener).
my @peer = $socket =~ m{^/} ? (socket => $socket) : (server => $socket);
my $ml = Monitoring::Livestatus->new(
    @peer,
    keepalive        => $keepalive,
    errors_are_fatal => 0,
    warnings         => 0,
);

my @out;
for my $step (@$steps) {
    my ($op, $q) = ($step->{op}, $step->{q});
    my $start = time();
    my $result;
    if    ($op eq 'all')    { $result = $ml->selectall_arrayref($q, { Slice => {} }); }
    elsif ($op eq 'row')    { $result = $ml->selectrow_arrayref($q); }
    elsif ($op eq 'scalar') { $result = $ml->selectscalar_value($q); }
    elsif ($op eq 'do')     { $result = $ml->do($q); }
    else                    { die "unknown op $op\n"; }
    my $seconds = time() - $start;
    # The client keeps its socket in {'sock'} with keepalive only.
    my $kept = $ml->{'sock'};
    my $port = $kept && $kept->can('sockport') ? 0 + ($kept->sockport // 0) : 0;
    if ($Monitoring::Livestatus::ErrorCode) {
        push @out, { ok => 0, code => 0 + $Monitoring::Livestatus::ErrorCode,
                     message => '' . ($Monitoring::Livestatus::ErrorMessage // ''), seconds => $seconds,
                     port => $port };
    } else {
        push @out, { ok => 1, result => $result, seconds => $seconds, port => $port };
    }
}
print JSON::PP->new->canonical->encode(\@out), "\n";
