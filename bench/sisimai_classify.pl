#!/usr/bin/perl
# bench/sisimai_classify.pl FILE...: runs Sisimai (Debian's libsisimai-perl, 4.25.x) on each
# email file and prints one JSON line per file, the counterpart of `herald classify`:
#   {"file": PATH, "facts": [{"reason", "softbounce", "deliverystatus", "replycode",
#    "diagnosticcode", "recipient", "action", "feedbacktype", "smtpagent", "smtpcommand",
#    "rhost"}, ...]}
# "facts" is empty when Sisimai finds nothing; {"file", "error"} when it dies on a file.
# softbounce is Sisimai's: 1 soft, 0 hard, -1 not a bounce or unknown.
#
# Sisimai 4.25 offers Sisimai->make(PATH, delivered => 1) (Sisimai->rise is 5.x); it
# reports RFC 3834 auto-replies (reason "vacation") and ARF reports ("feedback") on its own,
# and "delivered" DSNs only when asked, as here. One Perl process reads every file, so the
# interpreter's start-up is paid once, as herald's is.
use strict;
use warnings;
use JSON::PP;
use Sisimai;

my $json = JSON::PP->new->canonical(1);
binmode STDOUT;
$| = 0;

for my $path (@ARGV) {
    my @facts;
    my $list = eval { Sisimai->make($path, delivered => 1) };
    if ($@) {
        (my $err = "$@") =~ s/\s+\z//;
        print $json->encode({ file => $path, error => $err }), "\n";
        next;
    }
    for my $d (@{ $list // [] }) {
        push @facts, {
            reason         => $d->reason         // '',
            softbounce     => 0 + ($d->softbounce eq '' ? -1 : $d->softbounce),
            deliverystatus => $d->deliverystatus // '',
            replycode      => $d->replycode      // '',
            diagnosticcode => $d->diagnosticcode // '',
            recipient      => ($d->recipient ? $d->recipient->address : ''),
            action         => $d->action         // '',
            feedbacktype   => $d->feedbacktype   // '',
            smtpagent      => $d->smtpagent      // '',
            smtpcommand    => $d->smtpcommand    // '',
            rhost          => $d->rhost          // '',
        };
    }
    print $json->encode({ file => $path, facts => \@facts }), "\n";
}
