package sim

import (
	"fmt"
	"math"
	"math/rand"
	randv2 "math/rand/v2"
	"strings"
	"unicode"
	"unicode/utf8"

	"coexhistory/models"
)

// Words the benchmark searches for; the generator plants them at known rates.
const (
	SelectiveTerm  = "xarope"         // in one message of every selectiveEvery
	CommonTerm     = "pedido"         // in about 20% of messages
	PhraseTerm     = "entrega amanhã" // the phrase in about 1% of messages; each word alone in 4% more
	selectiveEvery = 20000
)

// baseTS is the start of the generated history (2023-01-01T00:00:00Z); it spans two years.
const (
	baseTS      = 1672531200
	historySpan = 2 * 365 * 24 * 3600
)

// Corpus describes a generated history: Threads threads over Numbers business numbers holding
// Messages messages in all, the same for the same Seed.
type Corpus struct {
	Messages int
	Threads  int
	Numbers  int
	Seed     int64
}

// NumberID is the phone_number_id of the corpus's n-th business number (from 0).
func NumberID(n int) string { return fmt.Sprintf("bench-number-%d", n+1) }

// NumberIDs lists the corpus's business numbers.
func (c Corpus) NumberIDs() []string {
	ids := make([]string, c.Numbers)
	for i := range ids {
		ids[i] = NumberID(i)
	}
	return ids
}

// CorpusGenerator produces a corpus deterministically.
type CorpusGenerator struct {
	c      Corpus
	rng    *rand.Rand
	tail   []string
	tailZ  *rand.Zipf
	common []string
	comZ   *rand.Zipf
	// nextSelective is the serial from which the next message with text gets SelectiveTerm.
	nextSelective int
}

func newCorpusGenerator(c Corpus) *CorpusGenerator {
	rng := rand.New(rand.NewSource(c.Seed))
	g := &CorpusGenerator{c: c, rng: rng, common: commonWords(), nextSelective: min(selectiveEvery, c.Messages) / 2}
	g.tail = tailWords(rng, 30000, g.common)
	g.tailZ = rand.NewZipf(rng, 1.07, 2, uint64(len(g.tail)-1))
	g.comZ = rand.NewZipf(rng, 1.01, 8, uint64(len(g.common)-1))
	return g
}

// Generator returns a new generator of c: Threads, then Messages of each thread in order.
func (c Corpus) Generator() *CorpusGenerator { return newCorpusGenerator(c) }

// Threads returns the corpus's threads (without IDs) with their message counts and times.
func (g *CorpusGenerator) Threads() []models.Thread {
	counts := threadSizes(g.c.Messages, g.c.Threads, g.rng)
	threads := make([]models.Thread, g.c.Threads)
	first, last := firstNames(), lastNames()
	for i := range threads {
		threads[i] = models.Thread{
			PhoneNumberID: NumberID(i % g.c.Numbers),
			ContactWAID:   fmt.Sprintf("55%02d9%08d", 11+i%80, 10000000+i),
			ContactName:   first[g.rng.Intn(len(first))] + " " + last[g.rng.Intn(len(last))],
			MessageCount:  counts[i],
		}
		ts := g.timestamps(i, counts[i])
		threads[i].FirstMessageAt, threads[i].LastMessageAt = ts[0], ts[len(ts)-1]
	}
	return threads
}

// timestamps returns the times of thread ti's count messages, in order. They come from a
// random stream of their own, so that threads can be inserted (with their first and last
// times) before their messages are generated.
func (g *CorpusGenerator) timestamps(ti, count int) []int64 {
	rng := randv2.New(randv2.NewPCG(uint64(g.c.Seed), uint64(ti)))
	out := make([]int64, count)
	ts := baseTS + rng.Int64N(historySpan*8/10)
	gap := int64(historySpan) / 5 / int64(max(count, 1))
	for j := range out {
		if j > 0 && rng.IntN(20) != 0 { // one in twenty shares the previous timestamp
			ts += 1 + rng.Int64N(2*gap+1)
		}
		out[j] = ts
	}
	return out
}

// Messages generates the messages of thread ti (t's ID set); serial numbers the corpus's
// messages so far and is advanced.
func (g *CorpusGenerator) Messages(t models.Thread, ti int, serial *int) []models.Message {
	times := g.timestamps(ti, t.MessageCount)
	msgs := make([]models.Message, t.MessageCount)
	for j, ts := range times {
		m := models.Message{
			PhoneNumberID: t.PhoneNumberID,
			WAMID:         fmt.Sprintf("wamid.BENCH%06X%06X", ti, j),
			ThreadID:      t.ID,
			ContactWAID:   t.ContactWAID,
			TS:            ts,
			Origin:        models.OriginHistory,
			Raw:           "{}",
			ChunkOrder:    *serial / 1000,
			Position:      *serial % 1000,
		}
		if g.rng.Intn(10) < 6 {
			m.Direction = models.DirectionInbound
		} else {
			m.Direction = models.DirectionOutbound
			m.Status = corpusPick(g.rng, []string{"read", "read", "read", "read", "read", "read", "delivered", "delivered", "sent", "failed"})
			if g.rng.Intn(10) == 0 {
				m.Origin = models.OriginEcho
			}
		}
		if ts > baseTS+historySpan-30*24*3600 && g.rng.Intn(3) == 0 {
			m.Origin = models.OriginLive
		}
		switch r := g.rng.Intn(100); {
		case r < 3 && j > 0:
			m.Type, m.Text, m.ReactionTo = "reaction", corpusPick(g.rng, []string{"👍", "❤️", "😂", "🙏", ""}), msgs[j-1].WAMID
		case r < 8:
			m.Type, m.MediaID, m.MimeType = "image", fmt.Sprintf("%d", 900000000+*serial), "image/jpeg"
			if g.rng.Intn(2) == 0 {
				m.Text = g.text(*serial)
			}
		case r < 10:
			m.Type, m.MediaID, m.MimeType = "audio", fmt.Sprintf("%d", 900000000+*serial), "audio/ogg"
		case r < 11:
			m.Type, m.Text = "location", "Loja "+g.common[g.rng.Intn(len(g.common))]
		case r < 12:
			m.Type, m.MediaID, m.MimeType, m.Text = "document", fmt.Sprintf("%d", 900000000+*serial), "application/pdf", "nota fiscal "+fmt.Sprint(*serial)
		default:
			m.Type, m.Text = "text", g.text(*serial)
		}
		if m.Type == "text" && g.rng.Intn(200) == 0 {
			m.Edited = true
		}
		if g.rng.Intn(500) == 0 {
			m.Deleted, m.Text = true, ""
		}
		msgs[j] = m
		*serial++
	}
	return msgs
}

// text writes a message body; the planted terms depend on serial and chance.
func (g *CorpusGenerator) text(serial int) string {
	n := 3 + g.rng.Intn(16)
	words := make([]string, 0, n+3)
	for range n {
		if g.rng.Intn(10) < 7 {
			words = append(words, g.common[g.comZ.Uint64()])
		} else {
			words = append(words, g.tail[g.tailZ.Uint64()])
		}
	}
	insert := func(w string) {
		at := g.rng.Intn(len(words) + 1)
		words = append(words[:at], append([]string{w}, words[at:]...)...)
	}
	if serial >= g.nextSelective {
		insert(SelectiveTerm)
		g.nextSelective += selectiveEvery
	}
	if g.rng.Intn(5) == 0 {
		insert(CommonTerm)
	}
	switch r := g.rng.Intn(100); {
	case r < 1:
		insert(PhraseTerm)
	case r < 5:
		insert(strings.Fields(PhraseTerm)[0])
	case r < 9:
		insert(strings.Fields(PhraseTerm)[1])
	}
	first, size := utf8.DecodeRuneInString(words[0])
	words[0] = string(unicode.ToUpper(first)) + words[0][size:]
	return strings.Join(words, " ") + corpusPick(g.rng, []string{".", "!", "?", "", " 🙂"})
}

// threadSizes splits messages over threads with a long tail: a few threads of thousands of
// messages, most of a few dozen.
func threadSizes(messages, threads int, rng *rand.Rand) []int {
	weights := make([]float64, threads)
	sum := 0.0
	for i := range weights {
		weights[i] = 1 / math.Pow(float64(i+10), 0.8)
		sum += weights[i]
	}
	rng.Shuffle(len(weights), func(i, j int) { weights[i], weights[j] = weights[j], weights[i] })
	counts := make([]int, threads)
	total := 0
	for i, w := range weights {
		counts[i] = max(1, int(float64(messages)*w/sum))
		total += counts[i]
	}
	for i := 0; total != messages; i = (i + 1) % threads {
		switch {
		case total < messages:
			counts[i]++
			total++
		case counts[i] > 1:
			counts[i]--
			total--
		}
	}
	return counts
}

func corpusPick(rng *rand.Rand, xs []string) string { return xs[rng.Intn(len(xs))] }

// tailWords makes n distinct made-up words (the long tail of a vocabulary), none of them a
// common or planted word.
func tailWords(rng *rand.Rand, n int, common []string) []string {
	syllables := strings.Fields("ba be bi bo bu ca ce ci co cu da di do du fa fe fi fo fu ga go gu la le li lo lu " +
		"ma me mi mo mu na ne ni no nu pa pi po pu ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo vu " +
		"bra cre dri fla glo pre tra ção lha nho rão zel quim")
	taken := map[string]bool{SelectiveTerm: true, CommonTerm: true}
	for _, w := range common {
		taken[w] = true
	}
	for _, w := range strings.Fields(PhraseTerm) {
		taken[w] = true
	}
	words := make([]string, 0, n)
	for len(words) < n {
		k := 2 + rng.Intn(3)
		var b strings.Builder
		for range k {
			b.WriteString(syllables[rng.Intn(len(syllables))])
		}
		if w := b.String(); !taken[w] {
			taken[w] = true
			words = append(words, w)
		}
	}
	return words
}

func commonWords() []string {
	return strings.Fields(`de o a e que não do da em um para é com uma os no se na por mais as dos como mas
		foi ao ele das tem à seu sua ou ser quando muito há nos já está eu também só pelo pela até isso ela
		entre era depois sem mesmo aos ter seus quem nas me esse eles estão você tinha foram essa num nem
		oi olá bom dia boa tarde noite obrigado obrigada favor sim tudo bem certo ok valor preço produto
		cliente pagamento boleto pix cartão endereço rua número frete prazo hoje semana mês horário loja
		atendimento dúvida informação enviar enviado recebi chegou aguardo confirmar confirmado troca
		devolução tamanho cor modelo estoque disponível desconto promoção nota fiscal cadastro senha link
		foto vídeo mensagem ligação telefone site app conta cancelar cancelado reembolso transportadora
		rastreio código correios motoboy retirada balcão orçamento proposta contrato assinatura plano
		mensalidade vencimento juros parcela parcelado vista entregue separação faturado aprovado análise
		pendente urgente ajuda problema defeito garantia assistência técnica manual instalação voltagem
		bivolt medida peso caixa embalagem presente aniversário natal cupom grátis Cenoura café pão`)
}

func firstNames() []string {
	return strings.Fields("Ana Maria João José Antônio Francisco Carlos Paulo Pedro Lucas Luiz Marcos Luís " +
		"Gabriel Rafael Daniel Marcelo Bruno Eduardo Felipe Raimundo Rodrigo Juliana Márcia Fernanda Patrícia " +
		"Aline Adriana Camila Amanda Bruna Jéssica Letícia Júlia Luciana Vanessa Mariana Gabriela Vera Débora")
}

func lastNames() []string {
	return strings.Fields("Silva Santos Oliveira Souza Rodrigues Ferreira Alves Pereira Lima Gomes Costa " +
		"Ribeiro Martins Carvalho Almeida Lopes Soares Fernandes Vieira Barbosa Rocha Dias Nascimento Andrade " +
		"Moreira Nunes Marques Machado Mendes Freitas Cardoso Ramos Gonçalves Santana Teixeira Araújo")
}
