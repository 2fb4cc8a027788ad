// Command salamchat is a terminal chat on the Go SDK: it prints a channel's
// messages and sends each line you type.
//
//	salam up &                                   # in the repository
//	export SALAM_TOKEN=$(salam token --user alice)
//	go run ./cmd/salamchat --channel lobby       # in sdk/go
//
// Lines starting with "/" are commands: /history [n] shows older messages,
// /who USER... asks presence, /quit leaves. Typing a line marks you typing.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	salam "github.com/salamhq/salam/sdk/go"
)

func main() {
	url := flag.String("url", "ws://127.0.0.1:8080/v1/ws", "WebSocket endpoint of a salam edge")
	channel := flag.String("channel", "lobby", "channel to join (you must be a member)")
	token := flag.String("token", os.Getenv("SALAM_TOKEN"), "JWT (default $SALAM_TOKEN; `salam token --user NAME`)")
	flag.Parse()
	if err := run(*url, *channel, *token); err != nil {
		fmt.Fprintln(os.Stderr, "salamchat:", err)
		os.Exit(1)
	}
}

func run(url, channel, token string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c, err := salam.Dial(ctx, salam.Config{
		URL: url, Token: salam.StaticToken(token),
		OnMessage: func(m salam.Message) { fmt.Printf("[%d] %s: %s\n", m.Seq, m.From, m.Data) },
		OnTyping: func(t salam.Typing) {
			if !t.Stop {
				fmt.Printf("(%s is typing)\n", t.User)
			}
		},
		OnPresence: func(p salam.PresenceChange) {
			fmt.Printf("(%s is %s)\n", p.User, map[bool]string{true: "online", false: "offline"}[p.Online])
		},
		OnState: func(s salam.State, err error) {
			if err != nil {
				fmt.Printf("(%s: %v)\n", s, err)
			}
		},
	})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Subscribe(ctx, channel); err != nil {
		return err
	}
	fmt.Printf("joined %s as %s; type a message, /history, /who USER, /quit\n", channel, c.Session().User)

	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for {
		var line string
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case line, ok = <-lines:
			if !ok {
				return nil
			}
		}
		if err := command(ctx, c, channel, strings.TrimSpace(line)); err != nil {
			if err == errQuit {
				return nil
			}
			fmt.Println("error:", err)
		}
	}
}

var errQuit = fmt.Errorf("quit")

func command(ctx context.Context, c *salam.Client, channel, line string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	fields := strings.Fields(line)
	switch {
	case line == "":
		return nil
	case line == "/quit":
		return errQuit
	case fields[0] == "/history":
		n := 20
		if len(fields) > 1 {
			n, _ = strconv.Atoi(fields[1])
		}
		pos, _ := c.Position(channel)
		page, err := c.History(ctx, channel, salam.HistoryQuery{Before: pos + 1, Limit: min(max(n, 1), 200), Oldest: true})
		for _, m := range page.Messages {
			fmt.Printf("  [%d] %s: %s\n", m.Seq, m.From, m.Data)
		}
		return err
	case fields[0] == "/who":
		ps, err := c.QueryPresence(ctx, fields[1:]...)
		for _, p := range ps {
			seen := "unknown"
			if !p.LastSeen.IsZero() {
				seen = p.LastSeen.Format(time.DateTime)
			}
			fmt.Printf("  %s online=%v last seen %s\n", p.User, p.Online, seen)
		}
		return err
	}
	c.Typing(ctx, channel)
	_, err := c.SendText(ctx, channel, line)
	return err
}
